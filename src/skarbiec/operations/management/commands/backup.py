"""`skarbiec backup [--to DIR] [--keep N]` (R-D3)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from skarbiec.operations.backup import default_backup_dir, make_backup
from skarbiec.operations.backup_engines import BackupFailed


class Command(BaseCommand):
    help = (
        "Back up the database (PostgreSQL: pg_dump custom format; SQLite: online backup), then "
        "verify the file by restoring it into a scratch database and running `ledger check` and "
        "`audit verify` there. Safe while the service runs."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--to", type=Path, default=None, help="directory (default: DATA_DIR/backups)"
        )
        parser.add_argument(
            "--keep",
            type=int,
            default=None,
            help="after a verified backup, keep only the N newest verified backups in DIR",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        keep = options["keep"]
        if keep is not None and keep < 1:
            raise CommandError("--keep must be at least 1")
        to_dir = (options["to"] or default_backup_dir()).resolve()
        try:
            result = make_backup(to_dir, keep, self.stdout.write)
        except BackupFailed as e:
            raise CommandError(f"backup NOT verified: {e}")
        for line in result.report:
            self.stdout.write(f"  {line}")
        for path in result.removed:
            self.stdout.write(f"removed old backup {path.name}")
        self.stdout.write(f"backup verified: {result.path}")
