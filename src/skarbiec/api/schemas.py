"""Request and response bodies of the mobile API (they make the OpenAPI document)."""

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import field_validator, model_validator


def _refuse_nul_characters(value: Any) -> None:
    # PostgreSQL cannot store U+0000 in text, and a lone surrogate (JSON "\ud800") is no text
    # at all: such input must be a 422 at any depth, never a database or encoding error.
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(_("text must not contain NUL characters"))
        try:
            value.encode()
        except UnicodeEncodeError:
            raise ValueError(_("must be valid Unicode text")) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul_characters(key)
            _refuse_nul_characters(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_nul_characters(item)


def refused_when_empty(default: Any = ..., **kwargs: Any) -> Any:
    """A text field the API refuses when empty. The service refuses it with its own message
    (a missing title says so); the OpenAPI document says `minLength: 1` so clients know before
    sending (R-X8)."""
    return Field(default, json_schema_extra={"minLength": 1}, **kwargs)


def presented_secret(**kwargs: Any) -> Any:
    """A secret the member presents (a password, an SMS code, a PIN proof): refused when empty
    as `invalid_input` naming the field before any service runs. An empty one is no guess at
    the secret, and is never counted as a wrong one (R-X6, R-X8)."""
    return Field(..., min_length=1, **kwargs)


class InputSchema(Schema):
    """Base of every request body and query of the API."""

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, value: Any) -> Any:
        # Ninja's schemas read any value's attributes (to take ORM objects; it hands us the
        # value wrapped): a list or a string sent for an object would pass as one with every
        # field at its default.
        if not isinstance(getattr(value, "_obj", value), dict):
            raise ValueError(_("must be a JSON object"))
        return value

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        _refuse_nul_characters(value)
        return value


class ErrorOut(Schema):
    code: str
    message: str
    attempts_left: int | None = None
    helpline: list[str] | None = None
    problems: list[str] | None = None
    min_version: str | None = None
    retry_after: int | None = Field(
        None, description="seconds to wait (429; a 503 carries the Retry-After header only)"
    )
    field: str | None = Field(
        None, description="the field refused (invalid_amount, invalid_order; not always)"
    )
    limit: str | None = Field(
        None, description="per_transaction | daily | monthly (limit_exceeded)"
    )
    digits: int | None = Field(
        None, description="digits the account number had (invalid_account_number, wrong length)"
    )
    max_per_transaction_minor: int | None = Field(
        None, description="the credit union's maximum (limit_above_maximum)"
    )
    max_daily_minor: int | None = Field(None, description="as max_per_transaction_minor")
    max_monthly_minor: int | None = Field(None, description="as max_per_transaction_minor")


# Every operation answers refusals in the ErrorOut shape. 413, 422, 429 and 503 can come to any
# of them (body too large, unreadable input, rate limit, database unavailable: R-X8), so each
# operation documents them all.
ERRORS = {code: ErrorOut for code in (400, 401, 403, 404, 409, 413, 422, 429, 503)}


class ChallengeOut(Schema):
    challenge: str = Field(description="base64url; sign it verbatim; single use, 60 s")
    expires_at: datetime


class DeviceIn(InputSchema):
    """What the app knows about the device (R-M8). The PWA may leave platform/os_version empty:
    the server then reads the browser's user agent and client hints."""

    platform: str = Field("", max_length=16, description="android | ios | web")
    os_version: str = Field("", max_length=32)
    app_version: str = Field("", max_length=32)
    name: str = Field("", max_length=100)
    rooted: bool = False
    integrity_token: str = Field("", max_length=20000)


class ActivationIn(InputSchema):
    login: str = refused_when_empty(max_length=32)
    password: str = presented_secret(max_length=200)
    public_key: str | dict[str, Any] = Field(description="P-256 SPKI DER base64, or a JWK")
    device: DeviceIn = Field(default_factory=lambda: DeviceIn.model_validate({}))
    challenge: str = refused_when_empty(max_length=100)
    signature: str = refused_when_empty(max_length=400)
    credit_union: str = Field(
        "",
        max_length=8,
        description="Sort code of the credit union the app was set up for, if it knows it: a "
        "credit union without the app answers mobile_not_offered before any password is checked.",
    )


class ActivationOut(Schema):
    otp_required: bool
    activation_id: str | None = None
    device_id: str | None = None
    pin_length: int


class ActivationConfirmIn(InputSchema):
    activation_id: str = refused_when_empty(max_length=64)
    code: str = presented_secret(max_length=16)


class BoundDeviceOut(Schema):
    device_id: str
    pin_length: int


class SetPinIn(InputSchema):
    device_id: str = refused_when_empty(max_length=64)
    pin: str = presented_secret(max_length=16)
    pin_proof: str = presented_secret(max_length=128)
    challenge: str = refused_when_empty(max_length=100)
    signature: str = refused_when_empty(max_length=400)


class SessionOut(Schema):
    token: str
    device_id: str
    idle_timeout_seconds: int
    absolute_expires_at: datetime


class PinLoginIn(InputSchema):
    device_id: str = refused_when_empty(max_length=64)
    pin_proof: str = presented_secret(max_length=128)
    challenge: str = refused_when_empty(max_length=100)
    signature: str = refused_when_empty(max_length=400)
    device: DeviceIn | None = None


class FingerprintRegisterIn(InputSchema):
    challenge: str = refused_when_empty(max_length=100)
    credential: dict[str, Any]


class DeviceRefIn(InputSchema):
    device_id: str = refused_when_empty(max_length=64)


class FingerprintLoginIn(InputSchema):
    device_id: str = refused_when_empty(max_length=64)
    challenge: str = refused_when_empty(max_length=100)
    credential: dict[str, Any]
    signature: str = refused_when_empty(max_length=400)
    device: DeviceIn | None = None


class FailedFingerprintIn(InputSchema):
    device_id: str = refused_when_empty(max_length=64)
    challenge: str = refused_when_empty(max_length=100)
    signature: str = refused_when_empty(max_length=400)


class AttemptsOut(Schema):
    attempts_left: int


class SessionStatusOut(Schema):
    device_id: str
    idle_expires_at: datetime
    absolute_expires_at: datetime


class MeOut(Schema):
    first_name: str
    last_name: str
    credit_union: str
    credit_union_logo: str = Field(
        description="Address of the credit union's logo (or the default mark) for the header."
    )
    channel_state: str
    device_id: str
    idle_expires_at: datetime


class FaqOut(Schema):
    question: str
    answer: str


class HelpOut(Schema):
    credit_union: str
    helpline: list[str]
    faq: list[FaqOut]


class OkOut(Schema):
    ok: bool = True
