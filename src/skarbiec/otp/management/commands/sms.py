"""`skarbiec sms outbox`: read the SMS messages kept in the database (development, R-O5)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from skarbiec.otp.sms import read_outbox


def _count(value: str) -> int:
    number = int(value)
    if not 1 <= number <= 1000:
        raise ValueError(value)
    return number


_count.__name__ = "count"


class Command(BaseCommand):
    help = "SMS tools: `sms outbox [--phone P] [--last N]` prints the latest messages, decrypted."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        outbox = sub.add_parser("outbox", help="print the latest messages (newest first)")
        outbox.add_argument("--phone", default="", help="only this number (or its last digits)")
        outbox.add_argument("--last", type=_count, default=10, help="how many (default 10)")

    def handle(self, *args: Any, **options: Any) -> None:
        entries = read_outbox(options["phone"], options["last"])
        if not entries:
            self.stdout.write("no messages")
            return
        for entry in entries:
            when = timezone.localtime(entry.created_at).strftime("%Y-%m-%d %H:%M:%S")
            text = entry.text or "(body erased after delivery)"
            self.stdout.write(f"#{entry.id} {when} {entry.phone} [{entry.state}] {text}")
