"""`skarbiec purge`: delete expired codes, challenges, sessions and rate-limit windows now (R-X9).

The SMS worker runs the same purges every few minutes; this is for installations that run the
worker elsewhere, or an operator who wants it done at once.
"""

from typing import Any

from django.core.management.base import BaseCommand

from skarbiec.operations.retention import purge_expired_data


class Command(BaseCommand):
    help = "Delete expired one-time codes, challenges, sessions and rate-limit windows."

    def handle(self, *args: Any, **options: Any) -> None:
        for kind, count in purge_expired_data().items():
            self.stdout.write(f"{kind}: {count}")
