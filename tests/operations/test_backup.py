"""R-D3: `skarbiec backup` while a writer keeps writing, verified by restoring; `skarbiec restore`.

Runs on both databases: pg_dump/pg_restore on PostgreSQL, the online backup API on SQLite.
Data must be committed for pg_dump (another connection) to see it, hence transaction=True.
"""

import io
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from skarbiec.audit.services import seal_audit_chains
from skarbiec.ledger.accounts import open_account
from skarbiec.ledger.models import Account, Order
from skarbiec.ledger.orders import create_transfer_order
from skarbiec.operations.backup_engines import BackupFailed, PostgresDatabase, current_database
from tests.factories import make_credit_union
from tests.ledger.helpers import WEB, member_with_account

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _orders_per_minute_out_of_the_way(settings):
    # The writer books own transfers as fast as it can while the backup runs.
    settings.ORDER_RATE_LIMIT = (1_000_000, 60)


def backup(to: Path, *args: str) -> str:
    out = io.StringIO()
    call_command("backup", "--to", str(to), *args, stdout=out)
    return out.getvalue()


def _funded_member():
    member, source = member_with_account(make_credit_union(), balance_minor=1_000_000_00)
    savings = open_account(member, Account.Kind.SAVINGS, WEB)
    return member, source, savings


class Writer(threading.Thread):
    """Own transfers, one after another, noting when each was committed."""

    def __init__(self, member, source, savings) -> None:
        super().__init__(daemon=True)
        self.args_ = (member, source, savings)
        self.stop = threading.Event()
        self.committed: list[tuple[int, float]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        member, source, savings = self.args_
        try:
            i = 0
            while not self.stop.is_set():
                order = create_transfer_order(
                    member, "web", source.pk, savings.number, "", 1_00, f"W{i}", f"w-{i}", WEB
                )
                assert order.state == Order.State.BOOKED
                self.committed.append((order.pk, time.monotonic()))
                i += 1
        except BaseException as e:  # reported by the test
            self.error = e
        finally:
            connection.close()


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[tuple[str, Callable[[], set[int]]]]:
    """DATABASE_URL of a new empty database, and a reader of its order ids."""
    db = current_database()
    if isinstance(db, PostgresDatabase):
        import psycopg

        name = f"{db.name}_restored"
        admin = db.admin_connection()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')

        def order_ids() -> set[int]:
            with psycopg.connect(db.url(name).replace("postgres://", "postgresql://")) as c:
                return {row[0] for row in c.execute("SELECT id FROM ledger_order")}

        try:
            yield db.url(name), order_ids
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()
    else:
        path = tmp_path / "restored.sqlite3"

        def order_ids() -> set[int]:
            with sqlite3.connect(path) as c:
                return {row[0] for row in c.execute("SELECT id FROM ledger_order")}

        yield f"sqlite:///{path}", order_ids


def test_r_d3_backup_while_a_writer_writes_restores_every_committed_order(
    tmp_path: Path, empty_database
):
    member, source, savings = _funded_member()
    writer = Writer(member, source, savings)
    writer.start()
    try:
        deadline = time.monotonic() + 30
        while len(writer.committed) < 5 and writer.error is None and time.monotonic() < deadline:
            time.sleep(0.02)
        started = time.monotonic()
        out = backup(tmp_path / "backups")
        ended = time.monotonic()
    finally:
        writer.stop.set()
        writer.join(timeout=30)
    assert writer.error is None, writer.error
    before = {pk for pk, at in writer.committed if at < started}
    during = [pk for pk, at in writer.committed if started <= at <= ended]
    assert len(before) >= 5
    assert during, "the writer must have kept committing while the backup ran"

    assert "ledger check passed" in out and "audit log OK" in out
    [file] = (tmp_path / "backups").glob("skarbiec-*")
    assert out.strip().endswith(f"backup verified: {file}")
    assert file.stat().st_mode & 0o777 == 0o600  # member data (R-X9)

    url, restored_order_ids = empty_database
    restored = subprocess.run(
        [sys.executable, "-m", "skarbiec", "restore", str(file)],
        env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert restored.returncode == 0, restored.stderr
    assert "ledger check passed" in restored.stdout and "audit log OK" in restored.stdout
    ids = restored_order_ids()
    assert before <= ids  # every order committed before the backup started
    assert ids <= {pk for pk, _ in writer.committed}  # and nothing that was never committed


def _scratch_databases() -> list[tuple[str]]:
    db = current_database()
    if not isinstance(db, PostgresDatabase):
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{db.name}_verify_%"]
        )
        return cursor.fetchall()


def test_r_d3_a_backup_that_fails_the_checks_is_kept_as_unverified_and_the_command_fails(
    tmp_path: Path,
):
    member, source, savings = _funded_member()
    create_transfer_order(member, "web", source.pk, savings.number, "", 5_00, "T", "t-1", WEB)
    seal_audit_chains()  # the worker's job: the events are in their chain
    # What the checks exist to catch, done behind their back: first an edited audit event...
    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(id) FROM audit_auditevent")
        [last_event] = cursor.fetchone()
        cursor.execute("SELECT ip_address FROM audit_auditevent WHERE id = %s", [last_event])
        [address] = cursor.fetchone()
        cursor.execute(
            "UPDATE audit_auditevent SET ip_address = %s WHERE id = %s",
            ["203.0.113.66", last_event],
        )
    with pytest.raises(CommandError) as failure:
        backup(tmp_path / "audit")
    assert "backup NOT verified" in str(failure.value)
    assert "audit verify" in str(failure.value)
    assert [p.name.endswith(".unverified") for p in (tmp_path / "audit").iterdir()] == [True]

    # ...then, with the audit log repaired, a balance that no longer equals its entries.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET ip_address = %s WHERE id = %s", [address, last_event]
        )
        cursor.execute(
            "UPDATE ledger_account SET booked_minor = booked_minor + 1 WHERE id = %s", [source.pk]
        )
    with pytest.raises(CommandError) as failure:
        backup(tmp_path / "ledger")
    assert "backup NOT verified" in str(failure.value)
    assert "ledger check" in str(failure.value)
    assert [p.name.endswith(".unverified") for p in (tmp_path / "ledger").iterdir()] == [True]
    assert _scratch_databases() == []  # dropped even when the checks fail


def test_r_d3_retention_keeps_the_newest_verified_backups_and_restore_wants_an_empty_database(
    tmp_path: Path,
):
    _funded_member()
    kept_aside = tmp_path / "skarbiec-20000101T000000.000000Z.sqlite3.unverified"
    kept_aside.write_text("an old failed backup the administrator has not looked at yet")
    made = []
    for _ in range(2):
        out = backup(tmp_path, "--keep", "1")
        made.append(Path(out.strip().rsplit(" ", 1)[1]))
    remaining = sorted(p for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert remaining == sorted([made[1], kept_aside])
    assert f"removed old backup {made[0].name}" in out

    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(made[1]), stdout=io.StringIO())
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"not a backup")
    with pytest.raises(CommandError, match="neither a PostgreSQL custom dump nor an SQLite"):
        call_command("restore", str(garbage), stdout=io.StringIO())


def _restore_in_child(file: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skarbiec", "restore", str(file)],
        env={**os.environ, "DATABASE_URL": database_url}, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


def test_r_d3_backups_in_a_directory_named_with_url_characters_verify_and_restore(
    tmp_path: Path, empty_database
):
    """An administrator's directory name is no URL: # ? and % must not cut it short."""
    _funded_member()
    out = backup(tmp_path / "nightly #1?x=%41")
    file = Path(out.strip().split("backup verified: ", 1)[1])
    assert file.parent.name == "nightly #1?x=%41" and file.is_file()
    url, restored_order_ids = empty_database
    restored = _restore_in_child(file, url)
    assert restored.returncode == 0, restored.stderr
    assert restored_order_ids() == set(Order.objects.values_list("pk", flat=True))


@pytest.mark.parametrize("damaged_part", ["page header", "cells"])
def test_r_d3_a_damaged_sqlite_backup_is_refused_and_the_database_stays_empty(
    tmp_path: Path, empty_database, damaged_part: str
):
    if isinstance(current_database(), PostgresDatabase):
        pytest.skip("SQLite files only: a damaged custom dump is pg_restore's to refuse")
    _funded_member()
    out = backup(tmp_path)
    file = Path(out.strip().rsplit(" ", 1)[1])
    damaged = tmp_path / "damaged.sqlite3"
    data = bytearray(file.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    # The copy goes through either way; only the integrity check finds the damage, as a
    # report (cells) or as an error of its own (a page header).
    with sqlite3.connect(file) as db:
        [(root_page,)] = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'ledger_ledgerentry'"
        ).fetchall()
    start = (root_page - 1) * page_size
    if damaged_part == "page header":
        data[start : start + 12] = b"\xff" * 12
    else:
        data[start + 8 : start + 64] = b"\xff" * 56
    damaged.write_bytes(bytes(data))
    url, _ = empty_database
    target = Path(url.removeprefix("sqlite:///"))
    restored = _restore_in_child(damaged, url)
    assert restored.returncode == 1, restored.stdout
    assert "Traceback" not in restored.stderr
    assert "SQLite integrity check failed" in restored.stderr
    tables = []
    if target.exists():
        with sqlite3.connect(target) as db:
            tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert tables == []
    assert sorted(p.name for p in target.parent.iterdir() if "restored" in p.name) in (
        [],
        ["restored.sqlite3"],
    )


def test_r_d3_a_restore_killed_by_a_signal_says_so(tmp_path: Path, monkeypatch):
    """pg_restore killed (the OOM killer) writes nothing: the reason must not be empty."""
    fake = tmp_path / "bin" / "pg_restore"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nkill -KILL $$\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    dump = tmp_path / "x.pgdump"
    dump.write_bytes(b"PGDMP")
    with pytest.raises(BackupFailed, match=r"^pg_restore failed: killed by SIGKILL$"):
        PostgresDatabase({"NAME": "skarbiec"}).restore(dump, "scratch")


def test_r_d3_r_x9_what_a_killed_backup_left_is_removed_by_the_next(tmp_path: Path):
    """kill -9 during the verification leaves the scratch copy of the members' data and the
    unverified file; the next backup removes both, and never while another runs."""
    import fcntl
    import os

    db = current_database()
    to = tmp_path / "nightly"
    to.mkdir()
    left_file = to / f"skarbiec-20260101T000000.000000Z{db.suffix}.partial"
    left_file.write_text("half a dump")
    if isinstance(db, PostgresDatabase):
        with db.admin_connection() as admin:
            admin.execute(f'CREATE DATABASE "{db.name[:40]}_verify_0badf00d" TEMPLATE template0')
        assert _scratch_databases()
    busy = os.open(to, os.O_RDONLY)
    try:
        fcntl.flock(busy, fcntl.LOCK_EX)
        with pytest.raises(CommandError, match="another backup"):
            backup(to)
        assert left_file.exists()
    finally:
        os.close(busy)
    assert "verified" in backup(to)
    assert not left_file.exists() and _scratch_databases() == []
