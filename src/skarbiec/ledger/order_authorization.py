"""Authorising a transfer order by its SMS code (R-L4, R-O2, R-O4, R-X6, R-X7): the code is
a kind of the confirmed-operation registry bound to the order's details, so a wrong code is
counted before it is compared, three per order across resends. Three wrong codes: in the app
the order is rejected and the app blocked; in the web the order is cancelled and one failure
counts toward the web lockout (through `skarbiec.channels.access`). Also the code's resend and
the member's cancellation of an order that still waits.
"""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from skarbiec.audit.services import record_event
from skarbiec.channels.access import codes_exhausted, require_channel_open
from skarbiec.core import clock
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError
from skarbiec.core.locks import for_update
from skarbiec.ledger.amounts import format_amount
from skarbiec.ledger.errors import (
    AppBlockedAfterWrongCodes,
    InsufficientFunds,
    LimitExceeded,
    OrderNotFound,
    OrderStateConflict,
    TransferCancelledAfterWrongCodes,
)
from skarbiec.ledger.models import Order
from skarbiec.ledger.names import sms_name
from skarbiec.ledger.nrb import masked_nrb
from skarbiec.ledger.order_booking import execute_order
from skarbiec.ledger.order_input import MOBILE
from skarbiec.members.models import Member
from skarbiec.otp.errors import OtpAttemptsExhausted
from skarbiec.otp.models import Confirmation
from skarbiec.otp.operations import (
    OperationKind,
    confirm_code,
    declare_operation,
    lock_members_codes,
    resend_code,
    void_confirmations,
)
from skarbiec.otp.reopening import reopen_if_left_undone, reopened_if_the_database_fails


def transfer_details(order: Order) -> dict[str, Any]:
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
    # The amount and account first, the name people gave last and quoted (R-O2).
    return _(
        "%(cu)s: code %(code)s confirms a transfer of %(amount)s to account %(account)s, "
        "payee “%(payee)s”. Do not give the code to anyone."
    ) % {
        "cu": member.credit_union.name,
        "code": code,
        "amount": format_amount(details["amount_minor"], member.language),
        "payee": sms_name(details["payee_name"]),
        "account": masked_nrb(details["payee_account"]),
    }


def _transfer_codes_exhausted(confirmation: Confirmation, ctx: RequestContext) -> DomainError:
    """R-O4: in the app the order is rejected and the app blocked; in the web the order is
    cancelled and one failure counts toward the web lockout."""
    member = confirmation.member
    channel = confirmation.channel
    _end_for_wrong_codes(confirmation, ctx)
    refusal = codes_exhausted(member, channel, ctx)
    # Say what happened to the money and to the channel, not only to the code.
    if channel == MOBILE:
        return AppBlockedAfterWrongCodes(helpline=list(member.credit_union.helpline_phones))
    if isinstance(refusal, OtpAttemptsExhausted):
        return TransferCancelledAfterWrongCodes()
    return refusal


def _end_for_wrong_codes(confirmation: Confirmation, ctx: RequestContext) -> None:
    """The order of a transfer whose codes are used up, or of one waiting beside it when they
    were (R-X7): rejected in the app, cancelled in the web (R-O4). Transfers begun in one
    session and guessed at together end together: they are most likely all a thief's."""
    locked = lock_order(confirmation.member, int(confirmation.subject))
    if locked.state == Order.State.AWAITING_AUTHORIZATION:
        final = Order.State.REJECTED if confirmation.channel == MOBILE else Order.State.CANCELLED
        _end_unauthorised_order(locked, final, "wrong_codes", ctx)


TRANSFER = declare_operation(
    OperationKind(
        "transfer",
        _transfer_sms,
        _transfer_codes_exhausted,
        OrderStateConflict,
        side_by_side=True,
        on_closed_beside=_end_for_wrong_codes,
    )
)


def lock_order(member: Member, order_id: int) -> Order:
    order = (
        for_update(Order.objects)
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
    reopen_if_left_undone(TRANSFER, order.otp_id or 0, member)
    confirm_code(TRANSFER, order.otp_id or 0, member, transfer_details(order), code, ctx)
    # A booking the database failed (503) is retried with the same code (R-X6, R-L3).
    with reopened_if_the_database_fails(TRANSFER, order.otp_id or 0, member):
        return _book_authorized_order(member, order, ctx)


def _book_authorized_order(member: Member, order: Order, ctx: RequestContext) -> Order:
    """AWAITING_AUTHORIZATION → BOOKED, or REJECTED when the money or the limit is not there
    any more; its code was accepted."""
    error: DomainError | None = None
    with transaction.atomic():
        # The member first (`lock_members_codes`): a rejection here voids the operation too.
        lock_members_codes(member)
        order = lock_order(member, order.pk)
        if order.state != Order.State.AWAITING_AUTHORIZATION:
            raise OrderStateConflict()
        try:
            with transaction.atomic():
                execute_order(order, ctx, ("order_authorized", {"order": order.pk}))
        except (InsufficientFunds, LimitExceeded) as e:
            # The code was right; the money or the limit was not there any more.
            record_event(
                "order_authorized",
                ctx,
                credit_union_id=member.credit_union_id,
                member_id=member.pk,
                data={"order": order.pk},
            )
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


def order_code_channel(order: Order) -> str | None:
    """The channel whose SMS code an order waits for: the one it was ordered in, where its
    operation was started (`create_transfer_order`), so the only one that takes its code
    (R-O4, `skarbiec.otp.operation_channels.takes_codes_in`); None when it waits for no code."""
    if order.state != Order.State.AWAITING_AUTHORIZATION:
        return None
    return order.channel


def cancel_order(member: Member, order_id: int, ctx: RequestContext) -> Order:
    """The member gives up an order that still waits for its code."""
    with transaction.atomic():
        # The member's codes first, as a wrong code settled on another transfer does before it
        # ends this one beside it (R-X7): one order of locks, no deadlock between the two.
        lock_members_codes(member)
        order = lock_order(member, order_id)
        if order.state != Order.State.AWAITING_AUTHORIZATION:
            raise OrderStateConflict()
        _end_unauthorised_order(order, Order.State.CANCELLED, "cancelled_by_member", ctx)
    return order
