"""`skarbiec errorpages [--to DIR]`: the pages nginx serves in the application's stead."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from skarbiec.operations.errorpages import default_errorpages_dir, write_error_pages


class Command(BaseCommand):
    help = (
        "Write the error pages nginx shows when the application cannot answer (all instances "
        "down, body too large, flood limit), in every language, HTML and JSON."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--to", type=Path, default=None, help="directory (default: DATA_DIR/errorpages)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        directory = (options["to"] or default_errorpages_dir()).resolve()
        written = write_error_pages(directory)
        self.stdout.write(f"{len(written)} error pages written to {directory}")
