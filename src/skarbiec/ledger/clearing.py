"""External transfers through clearing (R-L3): PENDING → SENT → BOOKED or REJECTED.

`send_outgoing_batches` hands the pending transfers of each credit union to clearing as one
file (a simplified Elixir-like CSV, UTF-8) in <data dir>/outgoing/; `book_sent_order` and
`reject_sent_order` apply the answer of the other bank. The money sits on the credit union's
clearing account meanwhile; booking moves it to the settlement account (it left the credit
union), rejection gives it back to the member.
"""

import csv
import io
import os
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from skarbiec.audit.services import record_event
from skarbiec.core import clock
from skarbiec.core.context import SYSTEM, RequestContext
from skarbiec.core.locks import for_update
from skarbiec.ledger.accounts import internal_account
from skarbiec.ledger.booking import Leg, post_transaction
from skarbiec.ledger.errors import OrderNotFound, OrderStateConflict, RejectionOfUnsentOrder
from skarbiec.ledger.models import Account, LedgerTransaction, Order, OutgoingBatch
from skarbiec.ledger.nrb import sort_code_of
from skarbiec.members.models import CreditUnion

BATCH_HEADER = [
    "order_type",
    "date",
    "amount_minor",
    "payer_sort_code",
    "payer_account",
    "payee_account",
    "payer_name",
    "payee_name",
    "payee_sort_code",
    "title",
    "reference",
]


def outgoing_dir() -> Path:
    # Batch files name members, accounts and amounts: the owner's only, whatever the umask
    # (R-X9).
    path = Path(settings.DATA_DIR) / "outgoing"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def _batch_csv(orders: list[Order]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(BATCH_HEADER)
    for o in orders:
        writer.writerow(
            [
                "110",  # Elixir: a credit transfer
                timezone.localtime(clock.now()).strftime("%Y%m%d"),
                o.amount_minor,
                sort_code_of(o.from_account.number),
                o.from_account.number,
                o.payee_account,
                o.member.full_name,
                o.payee_name,
                sort_code_of(o.payee_account),
                o.title,
                f"SKARBIEC-{o.pk}",
            ]
        )
    return out.getvalue()


def send_outgoing_batch(
    credit_union: CreditUnion, ctx: RequestContext = SYSTEM
) -> OutgoingBatch | None:
    """PENDING → SENT for every pending external transfer of one credit union, as one file.

    The file is written under a temporary name and renamed once the database commits, so a
    batch on disk always matches SENT orders; a crash leaves only a *.tmp file behind.
    """
    with transaction.atomic():
        orders = list(
            for_update(Order.objects)
            .filter(
                member__credit_union=credit_union,
                kind=Order.Kind.EXTERNAL,
                state=Order.State.PENDING,
            )
            .select_related("from_account", "member")
            .order_by("pk")
        )
        if not orders:
            return None
        now = clock.now()
        stamp = timezone.localtime(now).strftime("%Y%m%d-%H%M%S")
        batch = OutgoingBatch.objects.create(
            credit_union=credit_union,
            file_name="",
            order_count=len(orders),
            total_minor=sum(o.amount_minor for o in orders),
            created_at=now,
        )
        batch.file_name = f"elixir-{credit_union.sort_code}-{stamp}-{batch.pk}.csv"
        batch.save(update_fields=["file_name"])
        Order.objects.filter(pk__in=[o.pk for o in orders]).update(
            state=Order.State.SENT, batch=batch
        )
        final = outgoing_dir() / batch.file_name
        tmp = final.with_suffix(".csv.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # a file left behind keeps its mode otherwise
        with os.fdopen(fd, "w", encoding="utf-8") as batch_file:
            batch_file.write(_batch_csv(orders))
        transaction.on_commit(lambda: os.replace(tmp, final))
        record_event(
            "outgoing_batch_sent",
            ctx,
            credit_union_id=credit_union.pk,
            data={"batch": batch.pk, "orders": len(orders), "total_minor": batch.total_minor},
        )
    return batch


def send_outgoing_batches(ctx: RequestContext = SYSTEM) -> list[OutgoingBatch]:
    batches = []
    for cu in CreditUnion.objects.order_by("pk"):
        batch = send_outgoing_batch(cu, ctx)
        if batch is not None:
            batches.append(batch)
    return batches


def _lock_sent(order_id: int) -> Order:
    order = (
        for_update(Order.objects)
        .select_related("member__credit_union", "from_account")
        .filter(pk=order_id, kind=Order.Kind.EXTERNAL)
        .first()
    )
    if order is None:
        raise OrderNotFound()
    if order.state != Order.State.SENT:
        raise OrderStateConflict()
    return order


def book_sent_order(order_id: int, ctx: RequestContext = SYSTEM) -> Order:
    """SENT → BOOKED: the other bank accepted; clearing → settlement account."""
    with transaction.atomic():
        order = _lock_sent(order_id)
        cu = order.member.credit_union
        txn = post_transaction(
            cu,
            LedgerTransaction.Kind.CLEARED,
            order.title,
            [
                Leg(internal_account(cu, Account.Kind.CLEARING).pk, -order.amount_minor),
                Leg(
                    internal_account(cu, Account.Kind.SETTLEMENT).pk,
                    order.amount_minor,
                    counterparty_name=order.payee_name,
                    counterparty_account=order.payee_account,
                ),
            ],
        )
        order.state = Order.State.BOOKED
        order.settlement = txn
        order.completed_at = clock.now()
        order.save(update_fields=["state", "settlement", "completed_at"])
        record_event(
            "order_booked",
            ctx,
            credit_union_id=cu.pk,
            member_id=order.member_id,
            data={"order": order.pk, "txn": txn.pk},
        )
    return order


def reject_sent_order(order_id: int, reason: str, ctx: RequestContext = SYSTEM) -> Order:
    """SENT → REJECTED: the other bank refused; the money goes back to the member."""
    with transaction.atomic():
        order = _lock_sent(order_id)
        cu = order.member.credit_union
        txn = post_transaction(
            cu,
            LedgerTransaction.Kind.REFUND,
            f"Refund: {order.title}",
            [
                Leg(internal_account(cu, Account.Kind.CLEARING).pk, -order.amount_minor),
                Leg(
                    order.from_account_id,
                    order.amount_minor,
                    counterparty_name=order.payee_name,
                    counterparty_account=order.payee_account,
                ),
            ],
        )
        order.state = Order.State.REJECTED
        order.reject_reason = (reason or "rejected_by_clearing")[:64]
        order.settlement = txn
        order.completed_at = clock.now()
        order.save(update_fields=["state", "reject_reason", "settlement", "completed_at"])
        record_event(
            "order_rejected",
            ctx,
            credit_union_id=cu.pk,
            member_id=order.member_id,
            data={"order": order.pk, "txn": txn.pk, "reason": order.reject_reason},
        )
    return order


def settle_sent_orders(
    rejections: dict[int, str] | None = None, ctx: RequestContext = SYSTEM
) -> tuple[int, int]:
    """Apply clearing's answer to every SENT order: listed ones rejected, the rest booked.

    One answer at a time, all of it or nothing: the SENT orders stay locked until the whole
    answer is booked, so a second run waits and finds them settled. An answer that rejects an
    order not awaiting settlement (a mistyped id, one a parallel run booked) books nothing: a
    transfer the other bank refused must not be booked as sent because its rejection missed
    (R-L3)."""
    rejections = rejections or {}
    booked = rejected = 0
    with transaction.atomic():
        sent = list(
            for_update(Order.objects)
            .filter(kind=Order.Kind.EXTERNAL, state=Order.State.SENT)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if unknown := sorted(set(rejections) - set(sent)):
            raise RejectionOfUnsentOrder(orders=unknown)
        for order_id in sent:
            if order_id in rejections:
                reject_sent_order(order_id, rejections[order_id], ctx)
                rejected += 1
            else:
                book_sent_order(order_id, ctx)
                booked += 1
    return booked, rejected
