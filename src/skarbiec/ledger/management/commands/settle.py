"""`skarbiec settle`: send pending external transfers to clearing, then apply its answer."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from skarbiec.core.bounds import ascii_number
from skarbiec.core.errors import DomainError
from skarbiec.ledger.clearing import (
    outgoing_dir,
    send_outgoing_batches,
    settle_sent_orders,
    write_unwritten_batch_files,
)


class Command(BaseCommand):
    help = (
        "Write pending external transfers to an outgoing batch file (PENDING → SENT) and book "
        "the sent ones (SENT → BOOKED), or reject listed ones with a refund (SENT → REJECTED)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--send-only", action="store_true", help="only write the batch; book nothing"
        )
        parser.add_argument(
            "--reject",
            action="append",
            default=[],
            metavar="ORDER_ID[:REASON]",
            help="reject this sent order (refund); may be repeated",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        rejections: dict[int, str] = {}
        for item in opts["reject"]:
            order_id, _sep, reason = item.partition(":")
            number = ascii_number(order_id)
            if number is None:
                raise CommandError(f"--reject expects ORDER_ID[:REASON], got {item!r}")
            rejections[number] = reason or "rejected_by_clearing"
        if late := write_unwritten_batch_files():
            self.stdout.write(f"{late} batch file(s) an interrupted run left unwritten: written")
        for batch in send_outgoing_batches():
            self.stdout.write(
                f"batch {batch.pk}: {batch.order_count} transfer(s) → "
                f"{outgoing_dir() / batch.file_name}"
            )
        if opts["send_only"]:
            return
        try:
            booked, rejected = settle_sent_orders(rejections)
        except DomainError as e:
            orders = ", ".join(str(pk) for pk in e.details.get("orders", []))
            raise CommandError(f"{e.message} {orders}".strip())
        self.stdout.write(f"booked {booked}, rejected {rejected}")
