"""How each database is dumped, restored and checked for emptiness (R-D3).

PostgreSQL: pg_dump's custom format (compressed, restorable table by table) and pg_restore,
with the connection given through libpq's environment so no password shows in a process list.
SQLite: the online backup API, which copies a consistent snapshot while the server keeps
writing (WAL mode lets readers and one writer go on together).
"""

import os
import re
import secrets
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from django.db import connections

from skarbiec.core.private_files import SQLITE_COMPANIONS

PG_MAGIC = b"PGDMP"
SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupFailed(Exception):
    """A step of a backup or restore failed; the message says which and why."""


def file_kind(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(16)
    if head.startswith(PG_MAGIC):
        return "postgresql"
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    raise BackupFailed(f"{path} is neither a PostgreSQL custom dump nor an SQLite database")


@dataclass(frozen=True)
class PostgresDatabase:
    params: dict[str, Any]  # Django's settings_dict of the connection

    kind = "postgresql"
    suffix = ".pgdump"

    @property
    def name(self) -> str:
        return str(self.params["NAME"])

    def libpq_env(self, database: str | None = None) -> dict[str, str]:
        env = dict(os.environ)
        for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"),
                         ("PASSWORD", "PGPASSWORD")):  # fmt: skip
            if self.params.get(key):
                env[var] = str(self.params[key])
        env["PGDATABASE"] = database or self.name
        if sslmode := self.params.get("OPTIONS", {}).get("sslmode"):
            env["PGSSLMODE"] = str(sslmode)
        return env

    def url(self, database: str) -> str:
        """DATABASE_URL of another database on the same server, for a child process."""
        user = quote(str(self.params.get("USER") or ""), safe="")
        password = quote(str(self.params.get("PASSWORD") or ""), safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = self.params.get("HOST") or "localhost"
        port = f":{self.params['PORT']}" if self.params.get("PORT") else ""
        options = {k: v for k, v in self.params.get("OPTIONS", {}).items() if isinstance(v, str)}
        query = f"?{urlencode(options)}" if options else ""
        return f"postgres://{auth}{host}{port}/{quote(database, safe='')}{query}"

    def dump(self, target: Path) -> None:
        _run(["pg_dump", "--format=custom", f"--file={target}"], self.libpq_env(), "pg_dump")

    def restore(self, source: Path, database: str) -> None:
        # --no-owner/--no-privileges: the restoring role owns what it restores, whatever role
        # owned the objects on the server the dump came from.
        _run(
            ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
             "--single-transaction", f"--dbname={database}", str(source)],
            self.libpq_env(database), "pg_restore",
        )  # fmt: skip

    def admin_connection(self) -> Any:
        import psycopg

        env = self.libpq_env()
        return psycopg.connect(
            host=env.get("PGHOST"), port=env.get("PGPORT"), user=env.get("PGUSER"),
            password=env.get("PGPASSWORD"), dbname=self.name, autocommit=True,
        )  # fmt: skip

    @contextmanager
    def scratch(self) -> Iterator[str]:
        """A new empty database on the same server, dropped afterwards (needs CREATEDB).

        One verification at a time per database (an advisory lock, freed by the server if this
        process dies): a scratch database found when the lock is taken was left by a run that
        was killed, a copy of members' data that nothing else would remove, and is dropped
        (R-X9, R-D3)."""
        from psycopg import sql

        prefix = f"{self.name[:40]}_verify_"
        left_by_a_killed_run = re.compile(re.escape(prefix) + "[0-9a-f]{8}")
        with self.admin_connection() as guard:
            guard.execute("SELECT pg_advisory_lock(hashtext(%s))", [prefix])
            for (left,) in guard.execute("SELECT datname FROM pg_database").fetchall():
                if left_by_a_killed_run.fullmatch(left):
                    guard.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(left)))  # fmt: skip
            name = f"{prefix}{secrets.token_hex(4)}"
            guard.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(
                sql.Identifier(name)))  # fmt: skip
            try:
                yield name
            finally:
                guard.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)))  # fmt: skip


@dataclass(frozen=True)
class SqliteDatabase:
    params: dict[str, Any]

    kind = "sqlite"
    suffix = ".sqlite3"

    @property
    def name(self) -> str:
        return str(self.params["NAME"])

    def url(self, path: str) -> str:
        # Quoted: a directory named with # ? or % must not cut the URL short.
        return f"sqlite:///{quote(str(Path(path).resolve()), safe='/')}"

    def dump(self, target: Path) -> None:
        copy_sqlite(Path(self.name), target)

    def restore(self, source: Path, database: str) -> None:
        """Copied beside the target and checked there; only a sound copy takes the target's
        place, so a damaged backup leaves the (empty) database as it was."""
        target = Path(database)
        restoring = target.with_name(target.name + ".restoring")
        try:
            copy_sqlite(source, restoring)
            sqlite_integrity(restoring)
            for suffix in SQLITE_COMPANIONS[1:]:
                target.with_name(target.name + suffix).unlink(missing_ok=True)
            os.replace(restoring, target)
        finally:
            # The integrity check's read may leave the copy's -wal and -shm beside it.
            for suffix in SQLITE_COMPANIONS:
                restoring.with_name(restoring.name + suffix).unlink(missing_ok=True)


def _read_only_uri(path: Path) -> str:
    # Percent-encoded: a path with # ? or % is no URI syntax to SQLite.
    return f"{path.resolve().as_uri()}?mode=ro"


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy through the online backup API, private to its owner (R-X9)."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    os.chmod(target, 0o600)
    src = sqlite3.connect(_read_only_uri(source), uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # one step: the whole database from one read snapshot
            # A single self-contained file: no -wal/-shm companions to lose or leave behind.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    except sqlite3.Error as e:
        raise BackupFailed(f"SQLite backup API failed: {e}")
    finally:
        src.close()


def sqlite_integrity(path: Path) -> None:
    db = sqlite3.connect(_read_only_uri(path), uri=True)
    try:
        result = db.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.Error as e:
        raise BackupFailed(f"SQLite integrity check failed: {e}")
    finally:
        db.close()
    if result != "ok":
        raise BackupFailed(f"SQLite integrity check failed: {result}")


Database = PostgresDatabase | SqliteDatabase


def current_database(alias: str = "default") -> Database:
    params = connections[alias].settings_dict
    vendor = connections[alias].vendor
    if vendor == "postgresql":
        return PostgresDatabase(dict(params))
    if vendor == "sqlite":
        return SqliteDatabase(dict(params))
    raise BackupFailed(f"backups of {vendor} databases are not supported")


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=6 * 3600)
    except FileNotFoundError:
        raise BackupFailed(f"{what} not found: install the PostgreSQL client (postgresql-client)")
    if result.returncode != 0:
        raise BackupFailed(f"{what} failed: {_why(result)}")


def _why(result: subprocess.CompletedProcess[str]) -> str:
    if result.returncode < 0:
        # Killed (the OOM killer, an operator): it said nothing itself.
        killed = f"killed by {signal.Signals(-result.returncode).name}"
        return f"{killed}: {result.stderr.strip()[-2000:]}" if result.stderr.strip() else killed
    return result.stderr.strip()[-2000:] or f"exit status {result.returncode}"
