from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from skarbiec.audit.models import AuditEvent
from skarbiec.audit.services import verify_audit_chains


class Command(BaseCommand):
    help = "Audit log tools: `audit verify` checks the hash chains (R-B5)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="recompute every hash chain and report tampering")

    def handle(self, *args: Any, **options: Any) -> None:
        problems = verify_audit_chains()
        if problems:
            first = problems[0]
            event = AuditEvent.objects.filter(chain_key=first.chain, seq=first.seq).first()
            what = (
                f" ({event.event} at {event.created_at.isoformat()}, id {event.pk})"
                if event
                else ""
            )
            # The first broken link names where to look; the rest follow from it or add to it.
            self.stderr.write(
                f"first broken link: chain {first.chain}, event #{first.seq}{what}: {first.reason}"
            )
            for p in problems:
                self.stderr.write(f"{p.chain} #{p.seq}: {p.reason}")
            raise CommandError(
                f"audit log verification failed at chain {first.chain} event #{first.seq}: "
                f"{first.reason} ({len(problems)} problem(s))"
            )
        self.stdout.write("audit log OK")
