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
from django.db.models import QuerySet
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


def _batch_csv(batch: OutgoingBatch, orders: list[Order]) -> str:
    """The file's content follows from the database alone (the batch and its orders), so a
    file lost to a crash is written again exactly as it would have been."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(BATCH_HEADER)
    day = timezone.localtime(batch.created_at).strftime("%Y%m%d")
    for o in orders:
        writer.writerow(
            [
                "110",  # Elixir: a credit transfer
                day,
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


def _place_durably(directory: Path, name: str, text: str) -> None:
    """Write under a temporary name, flush to disk, rename, flush the directory: the final
    name never shows a partial file, and once this returns the file survives a power cut."""
    final = directory / name
    tmp = directory / (name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file left behind keeps its mode otherwise
    with os.fdopen(fd, "w", encoding="utf-8") as batch_file:
        batch_file.write(text)
        batch_file.flush()
        os.fsync(batch_file.fileno())
    os.replace(tmp, final)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_batch_file(batch_id: int) -> None:
    """Put a committed batch's file in place once. The batch row stays locked meanwhile, so
    two runs never write one file; a file already under its final name (the process died
    after the rename) is only marked, never written a second time."""
    with transaction.atomic():
        batch = for_update(OutgoingBatch.objects).get(pk=batch_id)
        if batch.written_at is not None:
            return
        directory = outgoing_dir()
        if not (directory / batch.file_name).exists():
            orders = list(
                Order.objects.filter(batch=batch).select_related("from_account", "member")
                .order_by("pk")
            )  # fmt: skip
            _place_durably(directory, batch.file_name, _batch_csv(batch, orders))
        batch.written_at = clock.now()
        batch.save(update_fields=["written_at"])


def write_unwritten_batch_files() -> int:
    """The batches committed whose files a crash kept off the disk; returns how many."""
    pending = list(
        OutgoingBatch.objects.filter(written_at__isnull=True).order_by("pk")
        .values_list("pk", flat=True)
    )  # fmt: skip
    for batch_id in pending:
        write_batch_file(batch_id)
    return len(pending)


def send_outgoing_batch(
    credit_union: CreditUnion, ctx: RequestContext = SYSTEM
) -> OutgoingBatch | None:
    """PENDING → SENT for every pending external transfer of one credit union, as one file.

    The batch and its SENT orders commit first, then the file is put in place and the batch
    marked written. A process killed in between leaves a batch without its file: no answer
    is applied to its orders until `write_unwritten_batch_files` (the next run) writes it.
    Durable: the file goes out only once its batch has committed, never inside a caller's
    transaction that could still roll back and leave its orders to be sent again.
    """
    with transaction.atomic(durable=True):
        orders = list(
            for_update(Order.objects)
            .filter(
                member__credit_union=credit_union,
                kind=Order.Kind.EXTERNAL,
                state=Order.State.PENDING,
            )
            .order_by("pk")
            .values_list("pk", "amount_minor")
        )
        if not orders:
            return None
        now = clock.now()
        stamp = timezone.localtime(now).strftime("%Y%m%d-%H%M%S")
        batch = OutgoingBatch.objects.create(
            credit_union=credit_union,
            file_name="",
            order_count=len(orders),
            total_minor=sum(amount for _pk, amount in orders),
            created_at=now,
        )
        batch.file_name = f"elixir-{credit_union.sort_code}-{stamp}-{batch.pk}.csv"
        batch.save(update_fields=["file_name"])
        Order.objects.filter(pk__in=[pk for pk, _amount in orders]).update(
            state=Order.State.SENT, batch=batch
        )
        record_event(
            "outgoing_batch_sent",
            ctx,
            credit_union_id=credit_union.pk,
            data={"batch": batch.pk, "orders": len(orders), "total_minor": batch.total_minor},
        )
    write_batch_file(batch.pk)
    batch.refresh_from_db()
    return batch


def send_outgoing_batches(ctx: RequestContext = SYSTEM) -> list[OutgoingBatch]:
    write_unwritten_batch_files()
    batches = []
    for cu in CreditUnion.objects.order_by("pk"):
        batch = send_outgoing_batch(cu, ctx)
        if batch is not None:
            batches.append(batch)
    return batches


def _awaiting_answer() -> QuerySet[Order]:
    # Clearing can answer only for files it was given: the orders of a batch whose file is not
    # written yet await nothing.
    return for_update(Order.objects).filter(
        kind=Order.Kind.EXTERNAL, state=Order.State.SENT, batch__written_at__isnull=False
    )


def _lock_sent(order_id: int) -> Order:
    if not Order.objects.filter(pk=order_id, kind=Order.Kind.EXTERNAL).exists():
        raise OrderNotFound()
    order = (
        _awaiting_answer()
        .select_related("member__credit_union", "from_account")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
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
        sent = list(_awaiting_answer().order_by("pk").values_list("pk", flat=True))
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
