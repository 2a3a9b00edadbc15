"""Accounts, bookings, orders with strong customer authentication, trusted payees, limits.

Rules every function here keeps (R-L2, R-L6, R-X4):
- a booking is one `post_transaction` call: entries sum to zero, the accounts are locked in
  pk order (no deadlocks between opposite transfers) and a debit of a member account is a
  conditional update that can never take the available balance below zero;
- the balance check happens at booking time under those locks, never earlier;
- limits are checked under a lock of the member's limits row for the channel;
- orders, trusted payees and raised limits are kinds of the confirmed-operation registry
  (skarbiec.otp.operations): a wrong SMS code is counted and committed before it is compared,
  three per operation across resends, and the third one's consequence (cancel; in the app the
  app is blocked, in the web a failure toward the lockout, via skarbiec.channels.access) commits
  with it (R-O4, R-X6, R-X7).
"""

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from skarbiec.audit.services import SYSTEM, RequestContext, record_event
from skarbiec.channels.access import codes_exhausted, require_channel_open
from skarbiec.core import clock
from skarbiec.core.errors import DomainError
from skarbiec.ledger.amounts import format_amount, require_amount
from skarbiec.ledger.errors import (
    AccountNotFound,
    AppBlockedAfterWrongCodes,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidOrderDetails,
    LimitAboveMaximum,
    LimitChangeNotFound,
    LimitExceeded,
    OrderNotFound,
    OrderStateConflict,
    PayeeAccountNotFound,
    PayeeAlreadyTrusted,
    PayeeNotFound,
    SameAccount,
    TransferCancelledAfterWrongCodes,
    UnbalancedTransaction,
)
from skarbiec.ledger.models import (
    Account,
    CreditUnionLimits,
    LedgerEntry,
    LedgerTransaction,
    LimitChange,
    MemberLimits,
    Order,
    TrustedPayee,
    write_balanced,
)
from skarbiec.ledger.nrb import make_nrb, masked_nrb, parse_nrb, random_nrb, sort_code_of
from skarbiec.members.models import CreditUnion, Member
from skarbiec.otp.errors import OtpAttemptsExhausted
from skarbiec.otp.models import Confirmation
from skarbiec.otp.operations import (
    OperationKind,
    confirm_code,
    declare_operation,
    resend_code,
    start_confirmation,
    void_confirmations,
)

WEB = "web"
MOBILE = "mobile"
ORDER_CHANNELS = (WEB, MOBILE)

# Internal accounts get fixed numbers in the credit union's range, starting with zeros so they
# never collide with members' random numbers (which start with 1..9).
_INTERNAL_SUFFIX = {
    Account.Kind.CLEARING: "0000000000000001",
    Account.Kind.SETTLEMENT: "0000000000000002",
    Account.Kind.FUNDING: "0000000000000003",
}
_INTERNAL_NAMES = {
    Account.Kind.CLEARING: "Outgoing transfers in clearing",
    Account.Kind.SETTLEMENT: "Settlement account at the clearing house",
    Account.Kind.FUNDING: "Branch cash",
}

# Limits per channel when the credit union has not set its own: (maximum, default) for
# per-transaction, daily and monthly, in grosze.
DEFAULT_LIMITS: dict[str, dict[str, tuple[int, int]]] = {
    WEB: {
        "per_transaction": (100_000_00, 20_000_00),
        "daily": (200_000_00, 50_000_00),
        "monthly": (500_000_00, 200_000_00),
    },
    MOBILE: {
        "per_transaction": (20_000_00, 5_000_00),
        "daily": (50_000_00, 10_000_00),
        "monthly": (100_000_00, 50_000_00),
    },
}

_KEY_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


# ---------------------------------------------------------------------------------------------
# Accounts (R-L1)


def ensure_internal_accounts(credit_union: CreditUnion) -> dict[str, Account]:
    """Open the credit union's clearing, settlement and funding accounts once."""
    result: dict[str, Account] = {}
    for kind, suffix in _INTERNAL_SUFFIX.items():
        account = Account.objects.filter(
            credit_union=credit_union, kind=kind, member__isnull=True
        ).first()
        if account is None:
            try:
                with transaction.atomic():
                    account = Account.objects.create(
                        credit_union=credit_union,
                        kind=kind,
                        number=make_nrb(credit_union.sort_code, suffix),
                        name=_INTERNAL_NAMES[kind],
                        opened_at=clock.now(),
                    )
            except IntegrityError:  # opened by a parallel call
                account = Account.objects.get(
                    credit_union=credit_union, kind=kind, member__isnull=True
                )
        result[kind] = account
    return result


def internal_account(credit_union: CreditUnion, kind: str) -> Account:
    return ensure_internal_accounts(credit_union)[kind]


def open_account(
    member: Member, kind: str, ctx: RequestContext, name: str | None = None
) -> Account:
    """Open a current or savings account for a member, with a fresh NRB in the union's range."""
    if kind not in Account.MEMBER_KINDS:
        raise InvalidOrderDetails(_("Unknown account type."))
    cu = member.credit_union
    ensure_internal_accounts(cu)
    default_name: dict[str, str] = {
        Account.Kind.CURRENT: "Current account",
        Account.Kind.SAVINGS: "Savings account",
    }
    for _attempt in range(10):
        try:
            with transaction.atomic():
                account = Account.objects.create(
                    credit_union=cu,
                    member=member,
                    kind=kind,
                    number=random_nrb(cu.sort_code),
                    name=(name or default_name[kind])[:100],
                    opened_at=clock.now(),
                )
                record_event(
                    "account_opened",
                    ctx,
                    credit_union_id=cu.pk,
                    member_id=member.pk,
                    data={"account": account.number, "kind": kind},
                )
            return account
        except IntegrityError:
            continue  # number collision: draw another
    raise RuntimeError("could not draw a free account number")


def member_accounts(member: Member) -> list[Account]:
    return list(Account.objects.filter(member=member).order_by("kind", "pk"))


def get_member_account(member: Member, account: "Account | int") -> Account:
    account_id = account.pk if isinstance(account, Account) else account
    found = Account.objects.filter(pk=account_id, member=member).first()
    if found is None:
        raise AccountNotFound()
    return found


# ---------------------------------------------------------------------------------------------
# Bookings (R-L2, R-L6)


@dataclass(frozen=True)
class Leg:
    """One side of a booking: positive amounts are credits, negative debits."""

    account_id: int
    amount_minor: int
    counterparty_name: str = ""
    counterparty_account: str = ""


def post_transaction(
    credit_union: CreditUnion,
    kind: str,
    title: str,
    legs: list[Leg],
    booked_at: datetime | None = None,
) -> LedgerTransaction:
    """Book entries that sum to zero and move the stored balances with them, atomically.

    A member account is never debited below its available balance (InsufficientFunds);
    internal accounts of the credit union may go negative (the funding account does).
    """
    amounts = [leg.amount_minor for leg in legs]
    if (
        len(legs) < 2
        or sum(amounts) != 0
        or any(isinstance(a, bool) or not isinstance(a, int) or a == 0 for a in amounts)
        or len({leg.account_id for leg in legs}) != len(legs)
    ):
        raise UnbalancedTransaction()
    when = booked_at or clock.now()
    with transaction.atomic():
        # Locks in pk order: two opposite transfers never wait on each other crosswise.
        accounts = {
            a.pk: a
            for a in Account.objects.select_for_update()
            .filter(pk__in=[leg.account_id for leg in legs])
            .order_by("pk")
        }
        if len(accounts) != len(legs) or any(
            a.credit_union_id != credit_union.pk for a in accounts.values()
        ):
            raise UnbalancedTransaction()
        entries: list[LedgerEntry] = []
        for leg in sorted(legs, key=lambda leg: leg.account_id):
            account = accounts[leg.account_id]
            amount = leg.amount_minor
            rows = Account.objects.filter(pk=account.pk)
            if amount < 0 and not account.is_internal:
                # Conditional update: holds even where the row lock is not (SQLite).
                rows = rows.filter(available_minor__gte=-amount)
            if not rows.update(
                booked_minor=F("booked_minor") + amount,
                available_minor=F("available_minor") + amount,
            ):
                raise InsufficientFunds()
            account.booked_minor += amount
            account.available_minor += amount
            entries.append(
                LedgerEntry(
                    account=account,
                    amount_minor=amount,
                    balance_after_minor=account.booked_minor,
                    counterparty_name=leg.counterparty_name[:70],
                    counterparty_account=leg.counterparty_account,
                    search_text=f"{title} {leg.counterparty_name}".casefold()[:220],
                    booked_at=when,
                )
            )
        txn = LedgerTransaction(
            credit_union=credit_union, kind=kind, title=title[:140], booked_at=when
        )
        write_balanced(txn, entries)
    return txn


def deposit_cash(
    account: Account, amount_minor: int, ctx: RequestContext, title: str = "Cash deposit"
) -> LedgerTransaction:
    """Cash paid in at the branch (and demo deposits): funding account → member account."""
    require_amount(amount_minor)
    funding = internal_account(account.credit_union, Account.Kind.FUNDING)
    with transaction.atomic():
        txn = post_transaction(
            account.credit_union,
            LedgerTransaction.Kind.DEPOSIT,
            title,
            [
                Leg(funding.pk, -amount_minor),
                Leg(
                    account.pk,
                    amount_minor,
                    counterparty_name=_INTERNAL_NAMES[Account.Kind.FUNDING],
                ),
            ],
        )
        record_event(
            "cash_deposited",
            ctx,
            credit_union_id=account.credit_union_id,
            member_id=account.member_id,
            data={"account": account.number, "amount_minor": amount_minor, "txn": txn.pk},
        )
    return txn


# ---------------------------------------------------------------------------------------------
# Limits (R-L4)


def credit_union_limits(credit_union: CreditUnion, channel: str) -> CreditUnionLimits:
    _require_channel(channel)
    d = DEFAULT_LIMITS[channel]
    limits, _created = CreditUnionLimits.objects.get_or_create(
        credit_union=credit_union,
        channel=channel,
        defaults={
            "max_per_transaction_minor": d["per_transaction"][0],
            "max_daily_minor": d["daily"][0],
            "max_monthly_minor": d["monthly"][0],
            "default_per_transaction_minor": d["per_transaction"][1],
            "default_daily_minor": d["daily"][1],
            "default_monthly_minor": d["monthly"][1],
        },
    )
    return limits


def member_limits(member: Member, channel: str) -> MemberLimits:
    _require_channel(channel)
    found = MemberLimits.objects.filter(member=member, channel=channel).first()
    if found:
        return found
    cu = credit_union_limits(member.credit_union, channel)
    try:
        with transaction.atomic():
            return MemberLimits.objects.create(
                member=member,
                channel=channel,
                per_transaction_minor=cu.default_per_transaction_minor,
                daily_minor=cu.default_daily_minor,
                monthly_minor=cu.default_monthly_minor,
                changed_at=clock.now(),
            )
    except IntegrityError:
        return MemberLimits.objects.get(member=member, channel=channel)


@dataclass(frozen=True)
class LimitUsage:
    channel: str
    per_transaction_minor: int
    daily_minor: int
    monthly_minor: int
    used_today_minor: int
    used_this_month_minor: int
    max_per_transaction_minor: int
    max_daily_minor: int
    max_monthly_minor: int


def _period_starts(now: datetime) -> tuple[datetime, datetime]:
    local = timezone.localtime(now)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return day, day.replace(day=1)


def _used_since(member: Member, channel: str, since: datetime) -> int:
    total = (
        Order.objects.filter(
            member=member,
            channel=channel,
            state__in=Order.COUNTED_STATES,
            authorized_at__gte=since,
        )
        .exclude(kind=Order.Kind.OWN)
        .aggregate(total=Sum("amount_minor"))["total"]
    )
    return int(total or 0)


def limit_usage(member: Member, channel: str) -> LimitUsage:
    """What the member sees in Settings → Limits: own limits, used amounts, the maximum."""
    limits = member_limits(member, channel)
    cu = credit_union_limits(member.credit_union, channel)
    day, month = _period_starts(clock.now())
    return LimitUsage(
        channel=channel,
        per_transaction_minor=limits.per_transaction_minor,
        daily_minor=limits.daily_minor,
        monthly_minor=limits.monthly_minor,
        used_today_minor=_used_since(member, channel, day),
        used_this_month_minor=_used_since(member, channel, month),
        max_per_transaction_minor=cu.max_per_transaction_minor,
        max_daily_minor=cu.max_daily_minor,
        max_monthly_minor=cu.max_monthly_minor,
    )


def _check_limits(member: Member, channel: str, amount_minor: int, lock: bool) -> None:
    if lock:
        # The row lock serialises the member's orders in this channel (R-X4).
        limits = MemberLimits.objects.select_for_update().get(pk=member_limits(member, channel).pk)
    else:
        limits = member_limits(member, channel)
    if amount_minor > limits.per_transaction_minor:
        raise LimitExceeded(
            _("The amount is above your per-transaction limit of %(limit)s.")
            % {"limit": format_amount(limits.per_transaction_minor)},
            limit="per_transaction",
        )
    day, month = _period_starts(clock.now())
    if _used_since(member, channel, day) + amount_minor > limits.daily_minor:
        raise LimitExceeded(
            _("The transfer would exceed your daily limit of %(limit)s.")
            % {"limit": format_amount(limits.daily_minor)},
            limit="daily",
        )
    if _used_since(member, channel, month) + amount_minor > limits.monthly_minor:
        raise LimitExceeded(
            _("The transfer would exceed your monthly limit of %(limit)s.")
            % {"limit": format_amount(limits.monthly_minor)},
            limit="monthly",
        )


# ---------------------------------------------------------------------------------------------
# Orders (R-L3, R-L4, R-O2, R-O4)


def _require_channel(channel: str) -> None:
    if channel not in ORDER_CHANNELS:
        raise InvalidOrderDetails(_("Unknown channel."))


_FIELD_MESSAGES = {
    "title": (
        gettext_lazy("Fill in the transfer title."),
        gettext_lazy("The transfer title may have at most 140 characters."),
        gettext_lazy("The transfer title contains characters that are not allowed."),
    ),
    "payee_name": (
        gettext_lazy("Fill in the payee name."),
        gettext_lazy("The payee name may have at most 70 characters."),
        gettext_lazy("The payee name contains characters that are not allowed."),
    ),
}


def _clean_text(value: str, field: str, max_length: int, required: bool = True) -> str:
    missing, too_long, bad = _FIELD_MESSAGES[field]
    if not isinstance(value, str):
        raise InvalidOrderDetails(missing, field=field)
    if _CONTROL_RE.search(value.replace("\n", " ")):
        raise InvalidOrderDetails(bad, field=field)
    text = " ".join(value.split())
    if required and not text:
        raise InvalidOrderDetails(missing, field=field)
    if len(text) > max_length:
        raise InvalidOrderDetails(too_long, field=field)
    return text


def _request_digest(details: dict[str, Any]) -> str:
    canonical = json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _transfer_details(order: Order) -> dict[str, Any]:
    """What the SMS code is bound to (R-O2): any change gives another digest."""
    return {
        "order": order.pk,
        "from": order.from_account.number,
        "amount_minor": order.amount_minor,
        "payee_account": order.payee_account,
        "payee_name": order.payee_name,
        "title": order.title,
    }


def _transfer_sms(member: Member, details: dict[str, Any], code: str) -> str:
    return _(
        "%(cu)s: code %(code)s confirms a transfer of %(amount)s to %(payee)s, account "
        "%(account)s. Do not give the code to anyone."
    ) % {
        "cu": member.credit_union.name,
        "code": code,
        "amount": format_amount(details["amount_minor"], member.language),
        "payee": details["payee_name"],
        "account": masked_nrb(details["payee_account"]),
    }


def _transfer_codes_exhausted(confirmation: Confirmation, ctx: RequestContext) -> DomainError:
    """R-O4: in the app the order is rejected and the app blocked; in the web the order is
    cancelled and one failure counts toward the web lockout."""
    member = confirmation.member
    channel = confirmation.channel
    locked = _lock_order(member, int(confirmation.subject))
    if locked.state == Order.State.AWAITING_AUTHORIZATION:
        final = Order.State.REJECTED if channel == MOBILE else Order.State.CANCELLED
        _end_unauthorised_order(locked, final, "wrong_codes", ctx)
    refusal = codes_exhausted(member, channel, ctx)
    # Say what happened to the money and to the channel, not only to the code.
    if channel == MOBILE:
        return AppBlockedAfterWrongCodes(helpline=list(member.credit_union.helpline_phones))
    if isinstance(refusal, OtpAttemptsExhausted):
        return TransferCancelledAfterWrongCodes()
    return refusal


TRANSFER = declare_operation(
    OperationKind("transfer", _transfer_sms, _transfer_codes_exhausted, OrderStateConflict)
)


def create_transfer_order(
    member: Member,
    channel: str,
    from_account: "Account | int",
    payee_account: str,
    payee_name: str,
    amount_minor: int,
    title: str,
    idempotency_key: str,
    ctx: RequestContext,
) -> Order:
    """Validate an order and book it at once when exempt (own account, trusted payee), or
    return it AWAITING_AUTHORIZATION with an SMS code sent (`order.otp_id`).

    The kind follows the payee's number: one of the member's accounts → own; the credit
    union's sort code → internal (booked at once); another sort code → external (PENDING,
    money held on the clearing account until `skarbiec settle`).

    Idempotent per (member, idempotency_key): a retry with the same details returns the first
    order (whatever its state now), a retry with other details raises IdempotencyConflict.
    Refusals (bad input, limits, insufficient funds of an exempt order) store nothing.
    """
    _require_channel(channel)
    key = (idempotency_key or "").strip()
    if not _KEY_RE.match(key):
        raise InvalidOrderDetails(_("A request identifier (idempotency key) is required."))
    amount_minor = require_amount(amount_minor)
    payee = parse_nrb(payee_account)
    title = _clean_text(title, "title", 140)
    payee_name = _clean_text(payee_name, "payee_name", 70, required=False)
    from_id = from_account.pk if isinstance(from_account, Account) else from_account
    digest = _request_digest(
        {
            "channel": channel,
            "from": from_id,
            "payee": payee,
            "name": payee_name,
            "amount": amount_minor,
            "title": title,
        }
    )
    existing = _replayed_order(member, key, digest)
    if existing is not None:
        return existing

    source = get_member_account(member, from_id)
    if payee == source.number:
        raise SameAccount()
    to_account: Account | None = None
    exempt = ""
    own = Account.objects.filter(member=member, number=payee).first()
    if own is not None:
        kind, to_account, exempt = Order.Kind.OWN, own, "own"
        payee_name = payee_name or member.full_name
    else:
        if not payee_name:
            raise InvalidOrderDetails(_("Fill in the payee name."), field="payee_name")
        if sort_code_of(payee) == member.credit_union.sort_code:
            kind = Order.Kind.INTERNAL
            to_account = Account.objects.filter(
                credit_union=member.credit_union, number=payee, member__isnull=False
            ).first()
            if to_account is None:
                raise PayeeAccountNotFound()
        else:
            kind = Order.Kind.EXTERNAL
        if TrustedPayee.objects.filter(
            member=member, account=payee, state=TrustedPayee.State.ACTIVE
        ).exists():
            exempt = "trusted_payee"
        # Early answer for the member; the binding check repeats under lock at booking.
        _check_limits(member, channel, amount_minor, lock=False)

    now = clock.now()
    try:
        with transaction.atomic():
            order = Order.objects.create(
                member=member,
                channel=channel,
                kind=kind,
                state=Order.State.AWAITING_AUTHORIZATION,
                idempotency_key=key,
                request_digest=digest,
                from_account=source,
                to_account=to_account,
                payee_account=payee,
                payee_name=payee_name,
                title=title,
                amount_minor=amount_minor,
                exempt_reason=exempt,
                created_at=now,
            )
            created = {
                "order": order.pk,
                "kind": kind,
                "amount_minor": amount_minor,
                "payee_account": payee,
                "exempt": exempt,
            }
            if exempt:
                _execute_order(order, ctx, ("order_created", created))
            else:
                record_event(
                    "order_created",
                    ctx,
                    credit_union_id=member.credit_union_id,
                    member_id=member.pk,
                    data=created,
                )
                confirmation = start_confirmation(
                    TRANSFER,
                    member,
                    details=_transfer_details(order),
                    channel=channel,
                    ctx=ctx,
                    subject=str(order.pk),
                )
                order.otp_id = confirmation.pk
                order.save(update_fields=["otp_id"])
    except IntegrityError:
        # A parallel request with the same key won the insert.
        existing = _replayed_order(member, key, digest)
        if existing is None:
            raise
        return existing
    return order


def _replayed_order(member: Member, key: str, digest: str) -> Order | None:
    existing = Order.objects.filter(member=member, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.request_digest != digest:
        raise IdempotencyConflict()
    return existing


def _execute_order(order: Order, ctx: RequestContext, *events: tuple[str, dict[str, Any]]) -> None:
    """Limits under lock, then the booking, then the audit events (`events` first, then the
    booking's). Inside the caller's transaction.

    The audit events come after the booking on purpose: appending to the audit chain locks its
    head, and taken first that lock would serialise every order of the credit union and hide
    whether the account locks below hold on their own (the concurrency tests must see them)."""
    member = order.member
    if order.kind != Order.Kind.OWN:
        _check_limits(member, order.channel, order.amount_minor, lock=True)
    cu = member.credit_union
    source = order.from_account
    now = clock.now()
    payer = Leg(
        source.pk,
        -order.amount_minor,
        counterparty_name=order.payee_name,
        counterparty_account=order.payee_account,
    )
    if order.kind == Order.Kind.EXTERNAL:
        # Outgoing money waits on the clearing account until settlement (R-L3).
        kind = LedgerTransaction.Kind.OUTGOING
        target_id = internal_account(cu, Account.Kind.CLEARING).pk
        order.state = Order.State.PENDING
    else:
        assert order.to_account_id is not None
        kind = LedgerTransaction.Kind.TRANSFER
        target_id = order.to_account_id
        order.state = Order.State.BOOKED
        order.completed_at = now
    payee = Leg(
        target_id,
        order.amount_minor,
        counterparty_name=member.full_name,
        counterparty_account=source.number,
    )
    txn = post_transaction(cu, kind, order.title, [payer, payee])
    order.booking = txn
    order.authorized_at = order.authorized_at or now
    order.save(update_fields=["state", "booking", "authorized_at", "completed_at"])
    for event, data in events:
        record_event(event, ctx, credit_union_id=cu.pk, member_id=member.pk, data=data)
    record_event(
        "order_booked" if order.state == Order.State.BOOKED else "order_queued",
        ctx,
        credit_union_id=cu.pk,
        member_id=member.pk,
        data={"order": order.pk, "txn": txn.pk, "amount_minor": order.amount_minor},
    )


def _lock_order(member: Member, order_id: int) -> Order:
    order = (
        Order.objects.select_for_update()
        .select_related("from_account", "member__credit_union")
        .filter(pk=order_id, member=member)
        .first()
    )
    if order is None:
        raise OrderNotFound()
    return order


def _end_unauthorised_order(order: Order, state: str, reason: str, ctx: RequestContext) -> None:
    """AWAITING_AUTHORIZATION → CANCELLED or REJECTED. The caller holds the order's lock."""
    order.state = state
    order.reject_reason = reason
    order.completed_at = clock.now()
    order.save(update_fields=["state", "reject_reason", "completed_at"])
    void_confirmations(order.member, TRANSFER, str(order.pk))
    record_event(
        "order_cancelled" if state == Order.State.CANCELLED else "order_rejected",
        ctx,
        credit_union_id=order.member.credit_union_id,
        member_id=order.member_id,
        data={"order": order.pk, "reason": reason},
    )


def authorize_transfer(member: Member, order_id: int, code: str, ctx: RequestContext) -> Order:
    """Confirm an order with its SMS code and book it (R-L4, R-O2).

    The code is checked against the order's stored details, so it cannot confirm another
    amount, payee or title. Three wrong codes across resends: in the mobile app the app is
    blocked and the order rejected; in the web the order is cancelled and one failure counts
    toward the web lockout (R-O4, R-X7). Insufficient funds or a limit reached in the meantime
    reject the order. An order no longer waiting (booked, cancelled, rejected) answers
    order_state_conflict to any code.
    """
    order = (
        Order.objects.select_related("from_account", "member__credit_union")
        .filter(pk=order_id, member=member)
        .first()
    )
    if order is None:
        raise OrderNotFound()
    if order.state != Order.State.AWAITING_AUTHORIZATION:
        raise OrderStateConflict()
    require_channel_open(member, order.channel)
    confirm_code(TRANSFER, order.otp_id or 0, member, _transfer_details(order), code, ctx)
    error: DomainError | None = None
    with transaction.atomic():
        order = _lock_order(member, order.pk)
        if order.state != Order.State.AWAITING_AUTHORIZATION:
            raise OrderStateConflict()
        order.authorized_at = clock.now()
        try:
            with transaction.atomic():
                _execute_order(order, ctx, ("order_authorized", {"order": order.pk}))
        except (InsufficientFunds, LimitExceeded) as e:
            # The code was right; the money or the limit was not there any more.
            record_event(
                "order_authorized",
                ctx,
                credit_union_id=member.credit_union_id,
                member_id=member.pk,
                data={"order": order.pk},
            )
            order.authorized_at = None
            _end_unauthorised_order(order, Order.State.REJECTED, e.code, ctx)
            error = e
    if error is not None:
        raise error
    return order


def resend_transfer_code(member: Member, order_id: int, ctx: RequestContext) -> Order:
    """A new SMS code for an order still waiting; the old code stops working (R-O3) and the
    wrong codes entered so far stay counted (R-X7)."""
    order = Order.objects.select_related("from_account").filter(pk=order_id, member=member).first()
    if order is None:
        raise OrderNotFound()
    if order.state != Order.State.AWAITING_AUTHORIZATION:
        raise OrderStateConflict()
    require_channel_open(member, order.channel)
    resend_code(TRANSFER, order.otp_id or 0, member, ctx)
    return order


def cancel_order(member: Member, order_id: int, ctx: RequestContext) -> Order:
    """The member gives up an order that still waits for its code."""
    with transaction.atomic():
        order = _lock_order(member, order_id)
        if order.state != Order.State.AWAITING_AUTHORIZATION:
            raise OrderStateConflict()
        _end_unauthorised_order(order, Order.State.CANCELLED, "cancelled_by_member", ctx)
    return order


def get_order(member: Member, order_id: int) -> Order:
    order = (
        Order.objects.select_related("from_account", "to_account")
        .filter(pk=order_id, member=member)
        .first()
    )
    if order is None:
        raise OrderNotFound()
    return order


def member_orders(member: Member, states: list[str] | None = None, limit: int = 50) -> list[Order]:
    qs = Order.objects.filter(member=member).select_related("from_account")
    if states:
        qs = qs.filter(state__in=states)
    return list(qs.order_by("-created_at", "-pk")[:limit])


# ---------------------------------------------------------------------------------------------
# Trusted payees (R-L4): adding one needs an SMS code; removing one does not.


def _payee_sms(member: Member, details: dict[str, Any], code: str) -> str:
    return _(
        "%(cu)s: code %(code)s adds %(name)s, account %(account)s, to your trusted payees "
        "(transfers without SMS codes). Do not give the code to anyone."
    ) % {
        "cu": member.credit_union.name,
        "code": code,
        "name": details["name"],
        "account": masked_nrb(details["account"]),
    }


def _payee_codes_exhausted(confirmation: Confirmation, ctx: RequestContext) -> DomainError:
    # The request is void: adding the payee needs a fresh start and a new code.
    TrustedPayee.objects.filter(
        pk=int(confirmation.subject), state=TrustedPayee.State.PENDING
    ).update(state=TrustedPayee.State.REMOVED)
    return codes_exhausted(confirmation.member, confirmation.channel, ctx)


TRUSTED_PAYEE = declare_operation(
    OperationKind("trusted_payee", _payee_sms, _payee_codes_exhausted, PayeeNotFound)
)


def _payee_details(payee: TrustedPayee) -> dict[str, Any]:
    return {"payee": payee.pk, "name": payee.name, "account": payee.account}


def add_trusted_payee(
    member: Member, channel: str, name: str, account: str, ctx: RequestContext
) -> TrustedPayee:
    """Start adding a trusted payee: stored PENDING, an SMS code names it (R-O2)."""
    _require_channel(channel)
    number = parse_nrb(account)
    name = _clean_text(name, "payee_name", 70)
    if TrustedPayee.objects.filter(
        member=member, account=number, state=TrustedPayee.State.ACTIVE
    ).exists():
        raise PayeeAlreadyTrusted()
    with transaction.atomic():
        payee = TrustedPayee.objects.create(
            member=member, name=name, account=number, created_at=clock.now()
        )
        confirmation = start_confirmation(
            TRUSTED_PAYEE,
            member,
            details=_payee_details(payee),
            channel=channel,
            ctx=ctx,
            subject=str(payee.pk),
        )
        payee.otp_id = confirmation.pk
        payee.save(update_fields=["otp_id"])
        record_event(
            "trusted_payee_requested",
            ctx,
            credit_union_id=member.credit_union_id,
            member_id=member.pk,
            data={"payee": payee.pk, "account": number, "channel": channel},
        )
    return payee


def confirm_trusted_payee(
    member: Member, payee_id: int, code: str, ctx: RequestContext, channel: str | None = None
) -> TrustedPayee:
    """Activate a pending trusted payee with its SMS code."""
    payee = TrustedPayee.objects.filter(pk=payee_id, member=member).first()
    if payee is None or payee.state != TrustedPayee.State.PENDING:
        raise PayeeNotFound()
    channel = channel or ctx.channel
    if channel not in ORDER_CHANNELS:
        channel = WEB
    require_channel_open(member, channel)
    confirm_code(TRUSTED_PAYEE, payee.otp_id or 0, member, _payee_details(payee), code, ctx)
    with transaction.atomic():
        payee = TrustedPayee.objects.select_for_update().get(pk=payee.pk)
        if payee.state != TrustedPayee.State.PENDING:
            raise PayeeNotFound()
        if TrustedPayee.objects.filter(
            member=member, account=payee.account, state=TrustedPayee.State.ACTIVE
        ).exists():
            raise PayeeAlreadyTrusted()
        payee.state = TrustedPayee.State.ACTIVE
        payee.activated_at = clock.now()
        payee.save(update_fields=["state", "activated_at"])
        record_event(
            "trusted_payee_added",
            ctx,
            credit_union_id=member.credit_union_id,
            member_id=member.pk,
            data={"payee": payee.pk, "account": payee.account},
        )
    return payee


def remove_trusted_payee(member: Member, payee_id: int, ctx: RequestContext) -> None:
    with transaction.atomic():
        payee = TrustedPayee.objects.select_for_update().filter(pk=payee_id, member=member).first()
        if payee is None or payee.state == TrustedPayee.State.REMOVED:
            raise PayeeNotFound()
        payee.state = TrustedPayee.State.REMOVED
        payee.save(update_fields=["state"])
        record_event(
            "trusted_payee_removed",
            ctx,
            credit_union_id=member.credit_union_id,
            member_id=member.pk,
            data={"payee": payee.pk, "account": payee.account},
        )


def trusted_payees(member: Member) -> list[TrustedPayee]:
    return list(
        TrustedPayee.objects.filter(member=member, state=TrustedPayee.State.ACTIVE).order_by("name")
    )


# ---------------------------------------------------------------------------------------------
# Changing limits (R-L4): lowering is free, raising needs a code and stays within the maximum.


def _limits_sms(member: Member, details: dict[str, Any], code: str) -> str:
    lang = member.language
    return _(
        "%(cu)s: code %(code)s raises your %(channel)s limits to %(tx)s per transfer, %(day)s a "
        "day, %(month)s a month. Do not give the code to anyone."
    ) % {
        "cu": member.credit_union.name,
        "code": code,
        "channel": _("internet service") if details["channel"] == WEB else _("mobile app"),
        "tx": format_amount(details["per_transaction"], lang),
        "day": format_amount(details["daily"], lang),
        "month": format_amount(details["monthly"], lang),
    }


def _limit_codes_exhausted(confirmation: Confirmation, ctx: RequestContext) -> DomainError:
    LimitChange.objects.filter(
        pk=int(confirmation.subject), state=LimitChange.State.PENDING
    ).update(state=LimitChange.State.VOIDED)
    return codes_exhausted(confirmation.member, confirmation.channel, ctx)


RAISE_LIMITS = declare_operation(
    OperationKind("raise_limits", _limits_sms, _limit_codes_exhausted, LimitChangeNotFound)
)


def _limit_details(change: LimitChange) -> dict[str, Any]:
    return {
        "change": change.pk,
        "channel": change.channel,
        "per_transaction": change.per_transaction_minor,
        "daily": change.daily_minor,
        "monthly": change.monthly_minor,
    }


def _apply_limits(member: Member, change: LimitChange, ctx: RequestContext) -> MemberLimits:
    limits = MemberLimits.objects.select_for_update().get(
        pk=member_limits(member, change.channel).pk
    )
    limits.per_transaction_minor = change.per_transaction_minor
    limits.daily_minor = change.daily_minor
    limits.monthly_minor = change.monthly_minor
    limits.changed_at = clock.now()
    limits.save()
    change.state = LimitChange.State.APPLIED
    change.save(update_fields=["state"])
    record_event(
        "limits_changed",
        ctx,
        credit_union_id=member.credit_union_id,
        member_id=member.pk,
        data=_limit_details(change),
    )
    return limits


def change_limits(
    member: Member,
    channel: str,
    per_transaction_minor: int,
    daily_minor: int,
    monthly_minor: int,
    ctx: RequestContext,
) -> LimitChange:
    """Set a channel's limits. All lower or equal → applied at once (state APPLIED); any raise
    → PENDING with an SMS code (`otp_id`), to be finished by confirm_limit_change."""
    _require_channel(channel)
    values = [require_amount(v) for v in (per_transaction_minor, daily_minor, monthly_minor)]
    if not values[0] <= values[1] <= values[2]:
        raise InvalidOrderDetails(
            _("The per-transaction limit may not exceed the daily one, nor the daily the monthly.")
        )
    current = member_limits(member, channel)
    maximum = credit_union_limits(member.credit_union, channel)
    raised = (
        values[0] > current.per_transaction_minor
        or values[1] > current.daily_minor
        or values[2] > current.monthly_minor
    )
    if raised and (
        values[0] > maximum.max_per_transaction_minor
        or values[1] > maximum.max_daily_minor
        or values[2] > maximum.max_monthly_minor
    ):
        raise LimitAboveMaximum(
            max_per_transaction_minor=maximum.max_per_transaction_minor,
            max_daily_minor=maximum.max_daily_minor,
            max_monthly_minor=maximum.max_monthly_minor,
        )
    with transaction.atomic():
        LimitChange.objects.filter(
            member=member, channel=channel, state=LimitChange.State.PENDING
        ).update(state=LimitChange.State.VOIDED)
        change = LimitChange.objects.create(
            member=member,
            channel=channel,
            per_transaction_minor=values[0],
            daily_minor=values[1],
            monthly_minor=values[2],
            created_at=clock.now(),
        )
        if not raised:
            _apply_limits(member, change, ctx)
        else:
            confirmation = start_confirmation(
                RAISE_LIMITS,
                member,
                details=_limit_details(change),
                channel=channel,
                ctx=ctx,
                subject=str(change.pk),
            )
            change.otp_id = confirmation.pk
            change.save(update_fields=["otp_id"])
    return change


def confirm_limit_change(
    member: Member, change_id: int, code: str, ctx: RequestContext
) -> MemberLimits:
    """Apply a raise of limits with its SMS code; three wrong codes count as in R-O4."""
    change = LimitChange.objects.filter(
        pk=change_id, member=member, state=LimitChange.State.PENDING
    ).first()
    if change is None:
        raise LimitChangeNotFound()
    require_channel_open(member, change.channel)
    confirm_code(RAISE_LIMITS, change.otp_id or 0, member, _limit_details(change), code, ctx)
    with transaction.atomic():
        change = LimitChange.objects.select_for_update().get(pk=change.pk)
        if change.state != LimitChange.State.PENDING:
            raise LimitChangeNotFound()
        maximum = credit_union_limits(member.credit_union, change.channel)
        if (
            change.per_transaction_minor > maximum.max_per_transaction_minor
            or change.daily_minor > maximum.max_daily_minor
            or change.monthly_minor > maximum.max_monthly_minor
        ):
            raise LimitAboveMaximum()
        return _apply_limits(member, change, ctx)


__all__ = [
    "Leg",
    "LimitUsage",
    "SYSTEM",
    "add_trusted_payee",
    "authorize_transfer",
    "cancel_order",
    "change_limits",
    "confirm_limit_change",
    "confirm_trusted_payee",
    "create_transfer_order",
    "credit_union_limits",
    "deposit_cash",
    "ensure_internal_accounts",
    "get_member_account",
    "get_order",
    "internal_account",
    "limit_usage",
    "member_accounts",
    "member_limits",
    "member_orders",
    "open_account",
    "post_transaction",
    "remove_trusted_payee",
    "resend_transfer_code",
    "trusted_payees",
]
