"""Bodies of the accounts and transfers part of the mobile API (they make the OpenAPI document).

Money travels as integer grosze (`*_minor`) plus a text formatted for the request's language
("1 234,56 zł" / "PLN 1,234.56") that the app shows as it is. Amounts sent by the app are either
`amount_minor` (integer grosze) or `amount` (text as typed: "1 234,56" or "1234.56"); a JSON
number with a fraction is refused, so no float ever reaches the money path.
"""

from datetime import datetime

from ninja import Field, Schema
from pydantic import StrictBool, StrictInt, StrictStr

from skarbiec.api.schemas import InputSchema, presented_secret, refused_when_empty
from skarbiec.core.bounds import MAX_INT64, MIN_INT64, RecordId


class AccountOut(Schema):
    id: int
    name: str
    kind: str = Field(description="current | savings")
    number: str = Field(description="NRB, 26 digits")
    number_formatted: str = Field(description="NRB in groups of four, as printed")
    iban: str
    currency: str
    booked_minor: int
    available_minor: int
    booked: str = Field(description="booked balance formatted for the request's language")
    available: str


class HistoryItemOut(Schema):
    entry_id: int
    account_id: int
    booked_at: datetime
    amount_minor: int = Field(description="positive: money in; negative: money out")
    amount: str
    balance_after_minor: int
    balance_after: str
    title: str
    counterparty_name: str
    counterparty_account: str
    kind: str
    order_id: int | None = Field(None, description="the member's own transfer behind the entry")


class HistoryOut(Schema):
    items: list[HistoryItemOut]
    page: int
    page_size: int
    total: int
    pages: int
    has_next: bool


class TransferIn(InputSchema):
    from_account_id: RecordId
    payee_account: StrictStr = refused_when_empty(
        max_length=64, description="26 digits, spaces and PL allowed; own account → own transfer"
    )
    payee_name: StrictStr = Field("", max_length=200)
    title: StrictStr = refused_when_empty(max_length=400)
    amount: StrictStr | None = refused_when_empty(
        None, max_length=40, description='"1 234,56" or "1234.56"'
    )
    amount_minor: StrictInt | None = Field(
        None, ge=MIN_INT64, le=MAX_INT64, description="integer grosze, instead of amount"
    )
    idempotency_key: StrictStr | None = Field(
        None,
        max_length=64,
        description="or the Idempotency-Key header; a retry with the same key returns the "
        "first order and never books twice",
    )
    save_payee: StrictBool = Field(
        False, description="put the payee in the payee book once the order is accepted"
    )


class OrderOut(Schema):
    id: int
    kind: str = Field(description="own | internal | external")
    state: str = Field(
        description="awaiting_authorization | pending | sent | booked | rejected | cancelled"
    )
    channel: str
    from_account_id: int
    from_account: str
    payee_account: str
    payee_name: str
    title: str
    amount_minor: int
    amount: str
    sms_code_required: bool = Field(
        description="true: the transfer waits for its SMS code, entered in code_channel"
    )
    code_channel: str | None = Field(
        None,
        description="mobile | web: where the SMS code of a transfer waiting for one is entered, "
        "the channel it was ordered in (mobile: POST /transfers/{id}/authorize; web: the "
        "internet service, where the app answers operation_of_other_channel); null: none awaited",
    )
    exempt_reason: str = Field(description="own | trusted_payee | empty")
    reject_reason: str
    created_at: datetime
    authorized_at: datetime | None = None
    completed_at: datetime | None = None


class CodeIn(InputSchema):
    code: StrictStr = presented_secret(max_length=16)


class PayeeIn(InputSchema):
    name: StrictStr = refused_when_empty(max_length=200)
    account: StrictStr = refused_when_empty(max_length=64)
    title: StrictStr = Field("", max_length=400, description="default transfer title")
    trusted: StrictBool = Field(
        True,
        description="true (the default, as before the payee book): an SMS code naming the "
        "payee is sent, confirm it next; false: only saved in the payee book",
    )


class PayeeOut(Schema):
    id: int
    name: str
    account: str
    account_formatted: str
    title: str
    state: str = Field(
        description="saved (in the book, not trusted) | pending (a new trusted payee waiting "
        "for its SMS code) | active (trusted) | removed"
    )
    trusted: bool
    sms_code_required: bool = Field(description="an SMS code for trusting it was sent")
    code_channel: str | None = Field(
        None,
        description="mobile | web: where the SMS code of its trusting is entered, the channel "
        "it was started in (web: the internet service, where the app answers "
        "operation_of_other_channel); null: no code is awaited",
    )


class LimitsOut(Schema):
    channel: str
    per_transaction_minor: int
    daily_minor: int
    monthly_minor: int
    used_today_minor: int
    used_this_month_minor: int
    max_per_transaction_minor: int
    max_daily_minor: int
    max_monthly_minor: int
    per_transaction: str
    daily: str
    monthly: str


class LimitsIn(InputSchema):
    """Each limit as integer grosze (`*_minor`) or as typed text."""

    per_transaction: StrictStr | None = refused_when_empty(None, max_length=40)
    daily: StrictStr | None = refused_when_empty(None, max_length=40)
    monthly: StrictStr | None = refused_when_empty(None, max_length=40)
    per_transaction_minor: StrictInt | None = Field(None, ge=MIN_INT64, le=MAX_INT64)
    daily_minor: StrictInt | None = Field(None, ge=MIN_INT64, le=MAX_INT64)
    monthly_minor: StrictInt | None = Field(None, ge=MIN_INT64, le=MAX_INT64)


class LimitChangeOut(Schema):
    id: int
    channel: str
    state: str = Field(description="applied | pending (confirm with the SMS code) | voided")
    sms_code_required: bool
    per_transaction_minor: int
    daily_minor: int
    monthly_minor: int
