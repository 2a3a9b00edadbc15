"""`skarbiec backup` and `skarbiec restore` (R-D3).

A backup is only called a backup once it has been restored: every new file is restored into a
scratch database, `ledger check` and `audit verify` run there, and only then does the file get
its final name. A file that fails is kept as *.unverified (it may still be the best copy there
is) and the command fails, so the nightly timer's failure reaches whoever watches it.
"""

import fcntl
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connections

from skarbiec.core import clock
from skarbiec.operations.backup_engines import (
    BackupFailed,
    Database,
    PostgresDatabase,
    current_database,
    file_kind,
)

PREFIX = "skarbiec-"
UNVERIFIED = ".unverified"


@dataclass(frozen=True)
class BackupResult:
    path: Path
    report: list[str]
    removed: list[Path]


def default_backup_dir() -> Path:
    return Path(settings.DATA_DIR) / "backups"


def make_backup(to_dir: Path, keep: int | None, say: Callable[[str], None]) -> BackupResult:
    to_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _only_backup_into(to_dir):
        # Under the lock no other backup writes here: a *.partial is what a killed run left.
        for left in to_dir.glob(f"{PREFIX}*.partial"):
            left.unlink(missing_ok=True)
        return _make_backup(to_dir, keep, say)


@contextmanager
def _only_backup_into(to_dir: Path) -> Iterator[None]:
    """One backup at a time into a directory (an flock on the directory itself, freed by the
    kernel if the process dies)."""
    fd = os.open(to_dir, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupFailed(f"another backup is being written into {to_dir}")
        yield
    finally:
        os.close(fd)


def _make_backup(to_dir: Path, keep: int | None, say: Callable[[str], None]) -> BackupResult:
    db = current_database()
    stamp = clock.now().strftime("%Y%m%dT%H%M%S.%fZ")
    final = to_dir / f"{PREFIX}{stamp}{db.suffix}"
    partial = final.with_name(final.name + ".partial")
    old_umask = os.umask(0o077)  # member data: readable by its owner only (R-X9)
    try:
        db.dump(partial)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        os.umask(old_umask)
    os.chmod(partial, 0o600)
    say(f"backup written: {partial.name} ({partial.stat().st_size} bytes), verifying…")
    try:
        report = verify_backup(db, partial, to_dir)
    except BackupFailed:
        partial.rename(final.with_name(final.name + UNVERIFIED))
        raise
    partial.rename(final)
    removed = prune(to_dir, db.suffix, keep) if keep else []
    return BackupResult(final, report, removed)


def verify_backup(db: Database, path: Path, work_dir: Path) -> list[str]:
    """Restore `path` into a scratch database and run the ledger and audit checks there."""
    if file_kind(path) != db.kind:
        raise BackupFailed(f"{path.name} is not a {db.kind} backup")
    if isinstance(db, PostgresDatabase):
        with db.scratch() as scratch:
            db.restore(path, scratch)
            report = [f"restored into scratch database {scratch} (dropped afterwards)"]
            return report + run_checks(db.url(scratch))
    with tempfile.TemporaryDirectory(prefix=".verify-", dir=work_dir) as tmp:
        scratch_file = Path(tmp) / "scratch.sqlite3"
        db.restore(path, str(scratch_file))
        report = ["restored into a scratch SQLite file (removed afterwards), integrity ok"]
        return report + run_checks(db.url(str(scratch_file)))


def run_checks(database_url: str) -> list[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    result = subprocess.run(
        [sys.executable, "-m", "skarbiec.operations.verify_restored"],
        env=env, capture_output=True, text=True, timeout=6 * 3600,
    )  # fmt: skip
    if result.returncode != 0:
        problem = result.stderr.strip() or result.stdout.strip()
        raise BackupFailed(f"verification of the restored copy failed: {problem[-2000:]}")
    return result.stdout.strip().splitlines()


def prune(to_dir: Path, suffix: str, keep: int) -> list[Path]:
    """Remove all but the `keep` newest verified backups (names sort by their UTC time)."""
    verified = sorted(p for p in to_dir.glob(f"{PREFIX}*{suffix}") if p.is_file())
    doomed = verified[:-keep] if keep > 0 else []
    for path in doomed:
        path.unlink()
    return doomed


def restore_backup(path: Path, say: Callable[[str], None]) -> list[str]:
    """Restore into the configured database, which must be empty, then run the checks there."""
    db = current_database()
    kind = file_kind(path)
    if kind != db.kind:
        raise BackupFailed(f"{path.name} is a {kind} backup but the database is {db.kind}")
    connection = connections["default"]
    tables = connection.introspection.table_names()
    if tables:
        raise BackupFailed(
            f"the database {db.name} is not empty ({len(tables)} tables): restore only into a "
            "new, empty database"
        )
    connection.close()
    db.restore(path, db.name)
    say(f"restored {path.name} into {db.name}")
    return run_checks_here()


def run_checks_here() -> list[str]:
    import io

    from django.core.management.base import CommandError

    lines = []
    for command in (("ledger", "check"), ("audit", "verify")):
        out = io.StringIO()
        try:
            call_command(*command, stdout=out, stderr=out)
        except CommandError as e:
            raise BackupFailed(f"{' '.join(command)} failed on the restored database: {e}")
        lines.append(f"{' '.join(command)}: {out.getvalue().strip()}")
    return lines
