"""`skarbiec bench`: the performance figures P1–P4 of SPEC §11 on PostgreSQL (see README
"Performance"). Drops and recreates the database named by --database on the server of
DATABASE_URL."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from skarbiec.operations.benchmark.report import markdown, write_results
from skarbiec.operations.benchmark.runner import run_benchmark
from skarbiec.operations.benchmark.server import BenchParameters


class Command(BaseCommand):
    help = "Measure P1–P4 (SPEC §11) against a fresh PostgreSQL database and `skarbiec run`."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--database",
            default="skarbiec_bench_run",
            help="database to DROP and create on the server of DATABASE_URL",
        )
        parser.add_argument("--members", type=int, default=200)
        parser.add_argument("--clients", type=int, default=16)
        parser.add_argument("--workers", type=int, default=4)
        parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
        parser.add_argument("--sessions", type=int, default=10_000)
        parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("The benchmark needs PostgreSQL: set DATABASE_URL.")
        if options["members"] < 2 or options["clients"] < 1:
            raise CommandError("--members must be at least 2 and --clients at least 1.")
        params = BenchParameters(
            database=options["database"],
            members=options["members"],
            clients=options["clients"],
            workers=options["workers"],
            seconds=options["seconds"],
            sessions=options["sessions"],
            data_dir=Path(settings.DATA_DIR) / "bench",
        )
        result = run_benchmark(params, log=lambda line: self.stderr.write(str(line)))
        json_path, md_path = write_results(result, options["results"])
        self.stdout.write(markdown(result))
        self.stdout.write(f"Written {json_path} and {md_path}")
