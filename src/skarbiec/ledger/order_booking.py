"""Executing an authorised transfer order (R-L3, R-L6): the limits under the member's lock,
the booking, the order's new state and its audit events, in the caller's transaction. Orders
booked at once (own, trusted payee) and orders confirmed by their SMS code end here."""

from datetime import datetime
from typing import Any

from skarbiec.audit.services import record_event
from skarbiec.core import clock
from skarbiec.core.context import RequestContext
from skarbiec.core.prepared import Update, prepared_update
from skarbiec.ledger.accounts import internal_account
from skarbiec.ledger.booking import Leg, post_transaction
from skarbiec.ledger.limits import check_limits
from skarbiec.ledger.models import Account, LedgerTransaction, Order


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


def execute_order(order: Order, ctx: RequestContext, *events: tuple[str, dict[str, Any]]) -> None:
    """Limits under lock, then the booking, then the audit events (`events` first, then the
    booking's). Inside the caller's transaction.

    The audit events come after the booking on purpose: appending to the audit chain locks its
    head, and taken first that lock would serialise every order of the credit union and hide
    whether the account locks below hold on their own (the concurrency tests must see them)."""
    member = order.member
    if order.kind != Order.Kind.OWN:
        # The order's time is the moment its limits were checked (R-L4).
        now = check_limits(member, order.channel, order.amount_minor, lock=True)
    else:
        now = clock.now()
    cu = member.credit_union
    source = order.from_account
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
    order.authorized_at = now
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
