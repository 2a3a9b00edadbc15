"""Accounts, history, transfers, trusted payees and limits of the mobile app (R-L1–R-L5, R-O2,
R-O4), under the same /api/mobile/v1/ API and bearer session as the rest of the app.

Handlers parse input, call one service of skarbiec.ledger and shape the answer; the rules stay
in the services. Three wrong SMS codes for a transfer block the mobile app: the answer is
`channel_blocked` (403) and the order is rejected.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from ninja import Field, Header, Query, Router

from skarbiec.api import ledger_schemas as s
from skarbiec.api.auth import MobileSessionAuth, mobile_session
from skarbiec.api.schemas import ERRORS, InputSchema, OkOut
from skarbiec.core.bounds import Day, PageNumber, RecordId
from skarbiec.core.context import RequestContext
from skarbiec.core.http import request_context
from skarbiec.ledger import history, order_authorization, pdf
from skarbiec.ledger import limits as member_limits_service
from skarbiec.ledger.accounts import member_accounts
from skarbiec.ledger.amounts import amount_of_field, format_amount
from skarbiec.ledger.errors import InvalidOrderDetails
from skarbiec.ledger.limits import confirm_limit_change, limit_usage
from skarbiec.ledger.models import Account, LimitChange, Order, TrustedPayee
from skarbiec.ledger.names import shown_name
from skarbiec.ledger.nrb import format_nrb, iban
from skarbiec.ledger.order_authorization import (
    cancel_order,
    order_code_channel,
    resend_transfer_code,
)
from skarbiec.ledger.order_input import MOBILE
from skarbiec.ledger.orders import get_order, member_orders
from skarbiec.ledger.payee_book import add_payee as add_book_payee
from skarbiec.ledger.payee_book import create_transfer_saving_payee, payee_book
from skarbiec.ledger.payees import (
    awaits_code,
    confirm_trusted_payee,
    remove_trusted_payee,
    trust_code_channels,
    trust_saved_payee,
)
from skarbiec.members.models import Member

router = Router(tags=["accounts and transfers"], auth=MobileSessionAuth())
MOBILE = MOBILE


def _ctx(request: HttpRequest) -> RequestContext:
    return request_context(request, "mobile")


def _member(request: HttpRequest) -> Member:
    return mobile_session(request).member


def money_text(amount_minor: int) -> str:
    return format_amount(amount_minor, translation.get_language())


def account_out(account: Account) -> dict[str, Any]:
    return {
        "id": account.pk,
        "name": shown_name(account.name),
        "kind": account.kind,
        "number": account.number,
        "number_formatted": format_nrb(account.number),
        "iban": iban(account.number),
        "currency": account.currency,
        "booked_minor": account.booked_minor,
        "available_minor": account.available_minor,
        "booked": money_text(account.booked_minor),
        "available": money_text(account.available_minor),
    }


def item_out(item: history.HistoryItem) -> dict[str, Any]:
    return {
        **item.__dict__,
        "amount": money_text(item.amount_minor),
        "balance_after": money_text(item.balance_after_minor),
    }


def order_out(order: Order) -> dict[str, Any]:
    return {
        "id": order.pk,
        "kind": order.kind,
        "state": order.state,
        "channel": order.channel,
        "from_account_id": order.from_account_id,
        "from_account": order.from_account.number,
        "payee_account": order.payee_account,
        "payee_name": order.payee_name,
        "title": order.title,
        "amount_minor": order.amount_minor,
        "amount": money_text(order.amount_minor),
        "sms_code_required": order.state == Order.State.AWAITING_AUTHORIZATION,
        "code_channel": order_code_channel(order),
        "exempt_reason": order.exempt_reason,
        "reject_reason": order.reject_reason,
        "created_at": order.created_at,
        "authorized_at": order.authorized_at,
        "completed_at": order.completed_at,
    }


def _payee_out(payee: TrustedPayee, code_channels: dict[int, str]) -> dict[str, Any]:
    """`code_channels`: `trust_code_channels` of the payees answered."""
    return {
        "id": payee.pk,
        "name": payee.name,
        "account": payee.account,
        "account_formatted": format_nrb(payee.account),
        "title": payee.title,
        "state": payee.state,
        "trusted": payee.state == TrustedPayee.State.ACTIVE,
        "sms_code_required": awaits_code(payee),
        "code_channel": code_channels.get(payee.pk),
    }


def _one_payee_out(member: Member, payee: TrustedPayee) -> dict[str, Any]:
    return _payee_out(payee, trust_code_channels(member, [payee]))


# ---------------------------------------------------------------------------------------------
# Accounts and history (R-L1, R-L5)


@router.get("/accounts", response={200: list[s.AccountOut], **ERRORS})
def accounts(request: HttpRequest) -> list[dict[str, Any]]:
    return [account_out(a) for a in member_accounts(_member(request))]


class HistoryQuery(InputSchema):
    page: PageNumber = 1
    page_size: int = Field(25, ge=1, le=history.MAX_PAGE_SIZE)
    date_from: Day | None = None
    date_to: Day | None = None
    amount_min: str | None = None
    amount_max: str | None = None
    text: str = ""


@router.get(
    "/accounts/{account_id}/history",
    response={200: s.HistoryOut, **ERRORS},
    description="Newest first. Dates are local and inclusive; amount_min/amount_max compare the "
    'absolute amount and are typed like "1 234,56"; text searches the title and counterparty.',
)
def account_history(
    request: HttpRequest, account_id: RecordId, q: Query[HistoryQuery]
) -> dict[str, Any]:
    filters = history.HistoryFilter(
        date_from=q.date_from,
        date_to=q.date_to,
        amount_min_minor=amount_of_field("amount_min", q.amount_min, None)
        if q.amount_min
        else None,
        amount_max_minor=amount_of_field("amount_max", q.amount_max, None)
        if q.amount_max
        else None,
        text=q.text[:100],
    )
    page = history.account_history(_member(request), account_id, filters, q.page, q.page_size)
    return {
        "items": [item_out(i) for i in page.items],
        "page": page.page,
        "page_size": page.page_size,
        "total": page.total,
        "pages": page.pages,
        "has_next": page.has_next,
    }


@router.get("/history/{entry_id}", response={200: s.HistoryItemOut, **ERRORS})
def history_entry(request: HttpRequest, entry_id: RecordId) -> dict[str, Any]:
    return item_out(history.history_entry(_member(request), entry_id))


# ---------------------------------------------------------------------------------------------
# Transfers (R-L3, R-L4, R-O2, R-O4)


@router.get("/transfers", response={200: list[s.OrderOut], **ERRORS})
def transfers(request: HttpRequest) -> list[dict[str, Any]]:
    """The member's 50 newest transfers, from every channel."""
    return [order_out(o) for o in member_orders(_member(request))]


@router.post(
    "/transfers",
    response={200: s.OrderOut, **ERRORS},
    description="Creates a transfer. Own transfers and transfers to trusted payees are booked "
    "at once; others come back awaiting_authorization with an SMS code sent that names the "
    "amount, payee and account. The Idempotency-Key header (or idempotency_key field) is "
    "required: a retry with the same key and details returns the first order.",
)
def create_transfer(
    request: HttpRequest,
    body: s.TransferIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> dict[str, Any]:
    if idempotency_key and body.idempotency_key and idempotency_key != body.idempotency_key:
        raise InvalidOrderDetails(field="idempotency_key")
    order = create_transfer_saving_payee(
        _member(request),
        MOBILE,
        body.from_account_id,
        body.payee_account,
        body.payee_name,
        amount_of_field("amount", body.amount, body.amount_minor),
        body.title,
        idempotency_key or body.idempotency_key or "",
        _ctx(request),
        save=body.save_payee,
    )
    return order_out(order)


@router.get("/transfers/{order_id}", response={200: s.OrderOut, **ERRORS})
def transfer(request: HttpRequest, order_id: RecordId) -> dict[str, Any]:
    return order_out(get_order(_member(request), order_id))


@router.post(
    "/transfers/{order_id}/authorize",
    response={200: s.OrderOut, **ERRORS},
    description="The SMS code of the transfer. Wrong: otp_invalid with attempts_left. The "
    "third wrong code rejects the transfer and blocks the mobile app: channel_blocked (R-O4).",
)
def authorize_transfer(request: HttpRequest, order_id: RecordId, body: s.CodeIn) -> dict[str, Any]:
    return order_out(
        order_authorization.authorize_transfer(_member(request), order_id, body.code, _ctx(request))
    )


@router.post("/transfers/{order_id}/resend-code", response={200: s.OrderOut, **ERRORS})
def resend_code(request: HttpRequest, order_id: RecordId) -> dict[str, Any]:
    return order_out(resend_transfer_code(_member(request), order_id, _ctx(request)))


@router.post("/transfers/{order_id}/cancel", response={200: s.OrderOut, **ERRORS})
def cancel_transfer(request: HttpRequest, order_id: RecordId) -> dict[str, Any]:
    return order_out(cancel_order(_member(request), order_id, _ctx(request)))


@router.get(
    "/transfers/{order_id}/confirmation.pdf",
    response=ERRORS,
    description="The PDF confirmation of the transfer (application/pdf).",
    openapi_extra={"responses": {"200": {"content": {"application/pdf": {}}}}},
)
def confirmation(request: HttpRequest, order_id: RecordId) -> HttpResponse:
    content = pdf.transfer_confirmation_pdf(_member(request), order_id, translation.get_language())
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="transfer-{order_id}.pdf"'
    return response


# ---------------------------------------------------------------------------------------------
# The payee book, trusted payees and limits (R-L4)


@router.get(
    "/payees",
    response={200: list[s.PayeeOut], **ERRORS},
    description="The payee book: saved and trusted payees, by name.",
)
def payees(request: HttpRequest) -> list[dict[str, Any]]:
    member = _member(request)
    book = payee_book(member)
    code_channels = trust_code_channels(member, book)
    return [_payee_out(p, code_channels) for p in book]


@router.post(
    "/payees",
    response={200: s.PayeeOut, **ERRORS},
    description="Save a payee in the book. With trusted (the default) an SMS code naming the "
    "payee is sent: POST /payees/{id}/confirm with it.",
)
def add_payee(request: HttpRequest, body: s.PayeeIn) -> dict[str, Any]:
    member = _member(request)
    payee = add_book_payee(
        member, MOBILE, body.name, body.account, body.title, body.trusted, _ctx(request)
    )
    return _one_payee_out(member, payee)


@router.post(
    "/payees/{payee_id}/trust",
    response={200: s.PayeeOut, **ERRORS},
    description="Mark a saved payee as trusted: an SMS code naming it is sent; confirm next.",
)
def trust_payee(request: HttpRequest, payee_id: RecordId) -> dict[str, Any]:
    member = _member(request)
    payee = trust_saved_payee(member, MOBILE, payee_id, _ctx(request))
    return _one_payee_out(member, payee)


@router.post("/payees/{payee_id}/confirm", response={200: s.PayeeOut, **ERRORS})
def confirm_payee(request: HttpRequest, payee_id: RecordId, body: s.CodeIn) -> dict[str, Any]:
    member = _member(request)
    payee = confirm_trusted_payee(member, payee_id, body.code, _ctx(request), MOBILE)
    return _one_payee_out(member, payee)


@router.delete("/payees/{payee_id}", response={200: OkOut, **ERRORS})
def remove_payee(request: HttpRequest, payee_id: RecordId) -> dict[str, Any]:
    remove_trusted_payee(_member(request), payee_id, _ctx(request))
    return {"ok": True}


@router.get(
    "/limits",
    response={200: s.LimitsOut, **ERRORS},
    description="The mobile app's own limits, what was used today and this month, and the "
    "credit union's maximum.",
)
def limits(request: HttpRequest) -> dict[str, Any]:
    usage = limit_usage(_member(request), MOBILE)
    return {
        **usage.__dict__,
        "per_transaction": money_text(usage.per_transaction_minor),
        "daily": money_text(usage.daily_minor),
        "monthly": money_text(usage.monthly_minor),
    }


@router.post(
    "/limits",
    response={200: s.LimitChangeOut, **ERRORS},
    description="All limits lower or equal: applied at once. Any raise: pending with an SMS "
    "code; POST /limits/{id}/confirm. Above the credit union's maximum: limit_above_maximum.",
)
def change_limits(request: HttpRequest, body: s.LimitsIn) -> dict[str, Any]:
    change = member_limits_service.change_limits(
        _member(request),
        MOBILE,
        amount_of_field("per_transaction", body.per_transaction, body.per_transaction_minor),
        amount_of_field("daily", body.daily, body.daily_minor),
        amount_of_field("monthly", body.monthly, body.monthly_minor),
        _ctx(request),
    )
    return {
        "id": change.pk,
        "channel": change.channel,
        "state": change.state,
        "sms_code_required": change.state == LimitChange.State.PENDING,
        "per_transaction_minor": change.per_transaction_minor,
        "daily_minor": change.daily_minor,
        "monthly_minor": change.monthly_minor,
    }


@router.post("/limits/{change_id}/confirm", response={200: s.LimitChangeOut, **ERRORS})
def confirm_limits(request: HttpRequest, change_id: RecordId, body: s.CodeIn) -> dict[str, Any]:
    applied = confirm_limit_change(_member(request), change_id, body.code, _ctx(request))
    return {
        "id": change_id,
        "channel": applied.channel,
        "state": LimitChange.State.APPLIED,
        "sms_code_required": False,
        "per_transaction_minor": applied.per_transaction_minor,
        "daily_minor": applied.daily_minor,
        "monthly_minor": applied.monthly_minor,
    }
