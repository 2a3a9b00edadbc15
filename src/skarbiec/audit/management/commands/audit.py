from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from skarbiec.audit.services import verify_audit_chains


class Command(BaseCommand):
    help = "Audit log tools: `audit verify` checks the hash chains (R-B5)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="recompute every hash chain and report tampering")

    def handle(self, *args: Any, **options: Any) -> None:
        problems = verify_audit_chains()
        if problems:
            for p in problems:
                self.stderr.write(f"{p.chain} #{p.seq}: {p.reason}")
            raise CommandError(f"audit log verification failed: {len(problems)} problem(s)")
        self.stdout.write("audit log OK")
