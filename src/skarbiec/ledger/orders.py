"""Transfer orders (R-L3, R-L4, R-O2, R-O4, R-L6).

Own transfers and transfers to trusted payees are booked at once; others wait for an SMS code
bound to the order's details (a kind of the confirmed-operation registry, so a wrong code is
counted before it is compared, three per order across resends, R-X6, R-X7). Three wrong codes:
in the app the order is rejected and the app blocked; in the web the order is cancelled and one
failure counts toward the web lockout (through `skarbiec.channels.access`).
"""

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from skarbiec.audit.services import record_event
from skarbiec.channels.access import codes_exhausted, require_channel_open
from skarbiec.core import clock
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError
from skarbiec.core.prepared import Update, insert_new, prepared_select, prepared_update
from skarbiec.ledger.accounts import get_member_account, internal_account
from skarbiec.ledger.amounts import format_amount, require_amount
from skarbiec.ledger.booking import Leg, post_transaction
from skarbiec.ledger.errors import (
    AppBlockedAfterWrongCodes,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidOrderDetails,
    LimitExceeded,
    OrderNotFound,
    OrderStateConflict,
    PayeeAccountNotFound,
    SameAccount,
    TransferCancelledAfterWrongCodes,
)
from skarbiec.ledger.limits import check_limits
from skarbiec.ledger.models import (
    Account,
    LedgerTransaction,
    Order,
    TrustedPayee,
)
from skarbiec.ledger.nrb import masked_nrb, parse_nrb, sort_code_of
from skarbiec.ledger.order_input import KEY_RE, MOBILE, clean_text, request_digest, require_channel
from skarbiec.members.models import Member
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
    require_channel(channel)
    key = (idempotency_key or "").strip()
    if not KEY_RE.match(key):
        raise InvalidOrderDetails(_("A request identifier (idempotency key) is required."))
    amount_minor = require_amount(amount_minor)
    payee = parse_nrb(payee_account)
    title = clean_text(title, "title", 140)
    payee_name = clean_text(payee_name, "payee_name", 70, required=False)
    from_id = from_account.pk if isinstance(from_account, Account) else from_account
    digest = request_digest(
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
    exempt = ""
    in_house = sort_code_of(payee) == member.credit_union.sort_code
    # A payee in this credit union is looked up once: the account tells own from internal.
    to_account = (
        _member_account_in_house.first(credit_union_id=member.credit_union_id, number=payee)
        if in_house
        else _account_of_member.first(member_id=member.pk, number=payee)
    )
    if to_account is not None and to_account.member_id == member.pk:
        kind, exempt = Order.Kind.OWN, "own"
        payee_name = payee_name or member.full_name
    else:
        if not payee_name:
            raise InvalidOrderDetails(_("Fill in the payee name."), field="payee_name")
        if in_house:
            kind = Order.Kind.INTERNAL
            if to_account is None:
                raise PayeeAccountNotFound()
        else:
            kind = Order.Kind.EXTERNAL
        if _trusted_payee.first(member_id=member.pk, account=payee) is not None:
            exempt = "trusted_payee"
        else:
            # Early answer for an order that waits for its code; the binding check runs under
            # lock at booking (for an exempt order, moments from now in this request).
            check_limits(member, channel, amount_minor, lock=False)

    now = clock.now()
    try:
        with transaction.atomic():
            order = insert_new(
                Order(
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


# Prepared shapes (core/prepared.py): every order runs them.
@prepared_select
def _order_by_key(member_id: int, key: str) -> QuerySet[Order]:
    return Order.objects.filter(member_id=member_id, idempotency_key=key)


@prepared_select
def _member_account_in_house(credit_union_id: int, number: str) -> QuerySet[Account]:
    return Account.objects.filter(
        credit_union_id=credit_union_id, number=number, member__isnull=False
    )


@prepared_select
def _account_of_member(member_id: int, number: str) -> QuerySet[Account]:
    return Account.objects.filter(member_id=member_id, number=number)


@prepared_select
def _trusted_payee(member_id: int, account: str) -> QuerySet[TrustedPayee]:
    return TrustedPayee.objects.filter(
        member_id=member_id, account=account, state=TrustedPayee.State.ACTIVE
    ).only("pk")


def _replayed_order(member: Member, key: str, digest: str) -> Order | None:
    existing = _order_by_key.first(member_id=member.pk, key=key)
    if existing is None:
        return None
    if existing.request_digest != digest:
        raise IdempotencyConflict()
    return existing


@prepared_update
def _store_booked(order_id: int, booking_id: int, authorized_at: datetime, now: datetime) -> Update:
    # Prepared (core/prepared.py): every own and internal transfer ends here.
    booked = {
        "state": Order.State.BOOKED,
        "booking_id": booking_id,
        "authorized_at": authorized_at,
        "completed_at": now,
    }
    return Order.objects.filter(pk=order_id), booked


def _execute_order(order: Order, ctx: RequestContext, *events: tuple[str, dict[str, Any]]) -> None:
    """Limits under lock, then the booking, then the audit events (`events` first, then the
    booking's). Inside the caller's transaction.

    The audit events come after the booking on purpose: appending to the audit chain locks its
    head, and taken first that lock would serialise every order of the credit union and hide
    whether the account locks below hold on their own (the concurrency tests must see them)."""
    member = order.member
    if order.kind != Order.Kind.OWN:
        check_limits(member, order.channel, order.amount_minor, lock=True)
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
    if order.state == Order.State.BOOKED:
        _store_booked.run(
            order_id=order.pk, booking_id=txn.pk, authorized_at=order.authorized_at, now=now
        )
    else:  # external: pending until settlement
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
