"""Cash at the branch (R-B2): paid in and out as balanced ledger entries between the member's
account and the branch's cash account (`ledger/accounts.deposit_cash`/`withdraw_cash`), with a
printable PDF receipt. Accounts are reached only through `scope.account_of` (R-B6)."""

import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from skarbiec.audit.models import AuditEvent
from skarbiec.backoffice.errors import CashFormUsed, InvalidField, NotInScope
from skarbiec.backoffice.scope import account_of, audit_events_of
from skarbiec.core import clock
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError
from skarbiec.core.locks import for_update
from skarbiec.ledger.accounts import deposit_cash, record_balance_seen, withdraw_cash
from skarbiec.ledger.amounts import parse_amount
from skarbiec.ledger.models import Account, CashRequest, LedgerTransaction
from skarbiec.ledger.pdf import cash_receipt_pdf
from skarbiec.members.models import StaffProfile

DIRECTIONS = ("deposit", "withdrawal")


def cash_account(staff: StaffProfile, account_id: object) -> Account:
    account = account_of(staff, account_id)
    if account.is_internal:
        raise NotInScope()
    return account


def account_shown(staff: StaffProfile, account_id: object, ctx: RequestContext) -> Account:
    """The account as the cash page shows it, balance read now, and who saw it recorded (R-B5;
    banking secrecy: the log answers who saw a member's money). For the page only when it is
    shown (opened, or its form shown again with a refusal): not after a booking, whose own
    event names the account."""
    account = cash_account(staff, account_id)
    record_balance_seen(account, ctx)
    return account


KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def book_cash(
    staff: StaffProfile,
    account_id: object,
    direction: str,
    amount_text: str,
    request_key: str,
    ctx: RequestContext,
) -> LedgerTransaction:
    """Pay cash in or out once per form: `request_key` is the key the form was shown with, and
    the same form sent again returns its first booking (R-B2). Another booking under the key
    (a form sent again with its amount changed) is refused, booking nothing."""
    account = cash_account(staff, account_id)
    if direction not in DIRECTIONS:
        raise InvalidField("direction", _("Choose cash in or cash out."))
    try:
        amount = parse_amount(amount_text)
    except DomainError as error:
        raise InvalidField("amount", error.message)
    key = request_key if isinstance(request_key, str) and KEY_RE.match(request_key) else ""
    if not key:
        raise CashFormUsed()
    try:
        with transaction.atomic():
            # The account first, then the key again: a submit of the same form that booked
            # meanwhile is found here, before this one's withdrawal meets the balance it left
            # (the clerk was shown "too low" for cash the account had paid out) (R-B2, R-L6).
            for_update(Account.objects).filter(pk=account.pk).first()
            booked = _booked_under(key, account, direction, amount)
            if booked is not None:
                return booked
            if direction == "deposit":
                booking = deposit_cash(account, amount, ctx, "Wpłata gotówkowa w oddziale")
            else:
                booking = withdraw_cash(account, amount, ctx, "Wypłata gotówkowa w oddziale")
            CashRequest.objects.create(
                key=key,
                booking=booking,
                account=account,
                direction=direction,
                amount_minor=amount,
                created_at=clock.now(),
            )
    except IntegrityError:
        # A parallel submit of the same form booked first: nothing of this one stays.
        booked = _booked_under(key, account, direction, amount)
        if booked is None:
            raise
        return booked
    return booking


def _booked_under(
    key: str, account: Account, direction: str, amount: int
) -> LedgerTransaction | None:
    """The booking made under a form's key, or None; the key used for other details refuses."""
    first = CashRequest.objects.select_related("booking").filter(key=key).first()
    if first is None:
        return None
    if (first.account_id, first.direction, first.amount_minor) != (account.pk, direction, amount):
        raise CashFormUsed()
    return first.booking


@dataclass(frozen=True)
class Receipt:
    filename: str
    pdf: bytes


def cash_receipt(staff: StaffProfile, txn_id: object, lang: str) -> Receipt:
    """The receipt of a cash booking of the staff member's credit union, from its audit event
    (which names the account, the amount and the cashier)."""
    events = audit_events_of(staff).filter(event__in=("cash_deposited", "cash_withdrawn"))
    event: AuditEvent | None = None
    try:
        event = events.filter(data__txn=int(str(txn_id))).first()
    except ValueError:
        event = None
    if event is None:
        raise NotInScope()
    account = account_of(
        staff,
        Account.objects.filter(number=event.data["account"]).values_list("pk", flat=True).first(),
    )
    member = account.member
    pdf = cash_receipt_pdf(
        account.credit_union.name,
        reference=int(event.data["txn"]),
        kind="deposit" if event.event == "cash_deposited" else "withdrawal",
        booked_at=event.created_at,
        amount_minor=int(event.data["amount_minor"]),
        account_number=account.number,
        member_name=member.full_name if member else "",
        staff_name=event.actor.removeprefix("staff:"),
        lang=lang,
    )
    return Receipt(f"kasa-{event.data['txn']}.pdf", pdf)
