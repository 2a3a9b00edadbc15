"""SMS gateways (R-O5): one interface, a development outbox and SMSAPI.pl.

The worker (skarbiec.otp.delivery) is the only caller. A gateway either returns the provider's
message id or raises GatewayError saying whether trying again later can help.
"""

import uuid
from typing import Protocol

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from smsapi.client import SmsApiPlClient
from smsapi.exception import ClientException, EndpointException, SendException
from urllib3.exceptions import NewConnectionError


class GatewayError(Exception):
    """The gateway did not accept the message. `temporary`: the same message may succeed later
    (network, provider overload); otherwise sending it again is pointless (bad number, refused
    sender name, wrong credentials)."""

    def __init__(self, reason: str, *, temporary: bool, maybe_sent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.temporary = temporary
        # The provider may have taken the message all the same (an answer that never came):
        # the member may have got it, so it stays in their send budget (R-X7).
        self.maybe_sent = maybe_sent


def _surely_not_sent(error: requests.RequestException) -> bool:
    """Whether the request never reached the provider: no connection was made (refused, name
    not resolved, connect timeout). A timeout or a cut while waiting for the answer may come
    after the provider took the message."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    cause = error.args[0] if error.args else None
    return isinstance(error, requests.ConnectionError) and isinstance(
        getattr(cause, "reason", cause), NewConnectionError
    )


class SmsGateway(Protocol):
    name: str
    # True only where reading the stored message is the point (the development outbox); a real
    # gateway's messages are erased once accepted, so a database copy holds no live codes.
    keeps_body: bool

    def send(self, phone: str, text: str, *, reference: str) -> str:
        """Hand one message over; return the provider's message id or raise GatewayError.
        `reference` names this message and no other (the same for each try of it): a provider
        that can refuses a second message with the same reference."""
        ...


class OutboxGateway:
    """Development: nothing leaves the machine; the message stays readable in the database
    (`skarbiec sms outbox`, /dev/sms/)."""

    name = "outbox"
    keeps_body = True

    def send(self, phone: str, text: str, *, reference: str) -> str:
        return f"outbox-{uuid.uuid4().hex}"


# SMSAPI error codes (its documented list of send errors) after which the same request may
# succeed later: request error, too many messages to one number in 60 s, no credits left (the
# operator can top up), submission failure, internal errors, too many simultaneous requests.
# Everything else (invalid number, message too long, unknown sender name, bad token) is final.
SMSAPI_TEMPORARY_ERRORS = frozenset({8, 52, 103, 200, 201, 202, 203, 666, 999})
# With `check_idx=1` SMSAPI refuses a message whose `idx` it has taken before: a try of ours
# whose answer was lost (or whose worker died before noting it) went through, so the member has
# the code and this try is not sent again.
SMSAPI_IDX_ALREADY_SENT = 53


def _error_code(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


class SmsApiGateway:
    """SMSAPI.pl through its official client library (smsapi-client)."""

    name = "smsapi"
    keeps_body = False

    def __init__(
        self,
        access_token: str,
        sender: str = "",
        *,
        normalize: bool = True,
        max_parts: int = 3,
        timeout: float = 10.0,
    ) -> None:
        if not access_token:
            raise ImproperlyConfigured("SKARBIEC_SMSAPI_TOKEN is required for the smsapi gateway")
        self.client = SmsApiPlClient(access_token=access_token)
        self.sender = sender
        # Polish letters force UCS-2 (70 characters a part); `normalize` makes the provider
        # send ą→a etc., so a code message fits one 160-character part.
        self.normalize = normalize
        # A cap on cost: a longer text is refused (error 12) instead of billed as many parts.
        self.max_parts = max_parts
        self.timeout = timeout

    @staticmethod
    def recipient(phone: str) -> str:
        # Members' phones are stored as +48600100200; SMSAPI wants 48600100200.
        return "".join(ch for ch in phone if ch in "0123456789")

    def send(self, phone: str, text: str, *, reference: str) -> str:
        params: dict[str, object] = {
            "to": self.recipient(phone),
            "message": text,
            "encoding": "utf-8",
            "max_parts": self.max_parts,
            # One message, one reference: a second try of it is refused (error 53), not sent.
            "idx": reference,
            "check_idx": 1,
            # `timeout` is read by the library for the HTTP call, not sent as a form field.
            "timeout": self.timeout,
        }
        # The library turns None into the text "None": leave optional fields out instead.
        if self.sender:
            params["from_"] = self.sender
        if self.normalize:
            params["normalize"] = 1
        try:
            result = self.client.sms.send(**params)
        except SendException as e:
            code = _error_code(e.code)
            if code == SMSAPI_IDX_ALREADY_SENT:
                return f"idx:{reference}"
            raise GatewayError(
                f"smsapi error {e.code}: {e.message}", temporary=code in SMSAPI_TEMPORARY_ERRORS
            )
        except EndpointException as e:
            # A non-2xx HTTP answer; e.code is the HTTP status.
            status = _error_code(e.code) or 0
            temporary = status >= 500 or status in (408, 429)
            raise GatewayError(
                f"smsapi HTTP {status}", temporary=temporary, maybe_sent=status >= 500
            )
        except ClientException as e:
            raise GatewayError(f"smsapi client error: {e.message}", temporary=False)
        except requests.RequestException as e:
            # Timeouts and connection errors: the provider may be briefly unreachable.
            raise GatewayError(
                f"smsapi unreachable: {type(e).__name__}",
                temporary=True,
                maybe_sent=not _surely_not_sent(e),
            )
        results = list(getattr(result, "results", None) or [])
        if not results:
            raise GatewayError(
                "smsapi answered without a message id", temporary=True, maybe_sent=True
            )
        first = results[0]
        if first.error:
            code = _error_code(first.error)
            raise GatewayError(
                f"smsapi error {first.error} for the recipient",
                temporary=code in SMSAPI_TEMPORARY_ERRORS,
            )
        if not first.id:
            raise GatewayError(
                "smsapi answered without a message id", temporary=True, maybe_sent=True
            )
        return str(first.id)


def gateway_from_settings() -> SmsGateway:
    """The gateway named by settings.SMS_GATEWAY (SKARBIEC_SMS_GATEWAY): outbox or smsapi."""
    name = settings.SMS_GATEWAY
    if name == "outbox":
        return OutboxGateway()
    if name == "smsapi":
        return SmsApiGateway(settings.SMSAPI_TOKEN, settings.SMSAPI_SENDER)
    raise ImproperlyConfigured(f"unknown SMS gateway {name!r}: use 'outbox' or 'smsapi'")
