"""`skarbiec restore FILE` (R-D3): into an empty database only."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from skarbiec.operations.backup import restore_backup
from skarbiec.operations.backup_engines import BackupFailed


class Command(BaseCommand):
    help = (
        "Restore a file made by `skarbiec backup` into the configured database, which must be "
        "empty; then run `ledger check` and `audit verify` on it."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            report = restore_backup(path.resolve(), self.stdout.write)
        except BackupFailed as e:
            raise CommandError(str(e))
        for line in report:
            self.stdout.write(f"  {line}")
        self.stdout.write(
            "restore verified. Run `skarbiec migrate` if the backup is older than this version; "
            "use the SKARBIEC_SECRET_KEY of the installation the backup came from."
        )
