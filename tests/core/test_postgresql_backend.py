"""skarbiec.core.postgresql: a connection that answered the previous request less than a second
ago is checked on its socket instead of by a round trip; any other as Django checks it."""

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections

from skarbiec.core.postgresql.base import RECENTLY_ANSWERED_SECONDS

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL backend"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def db() -> Iterator[Any]:
    """A connection of its own (the test's is inside the test machinery's transaction), with
    its pings counted."""
    wrapper = connections.create_connection(DEFAULT_DB_ALIAS)
    assert type(wrapper).__module__ == "skarbiec.core.postgresql.base"
    wrapper.pings = 0
    real = wrapper.is_usable

    def counted() -> bool:
        wrapper.pings += 1
        return real()

    wrapper.is_usable = counted
    yield wrapper
    wrapper.close()


def request(db: Any, sql: str = "SELECT 1") -> None:
    """What Django does around one request that runs one statement."""
    db.close_if_unusable_or_obsolete()  # request_started
    try:
        with db.cursor() as cursor:
            cursor.execute(sql)
    finally:
        db.close_if_unusable_or_obsolete()  # request_finished


def test_a_connection_that_answered_a_moment_ago_is_not_pinged(db: Any) -> None:
    request(db)
    request(db)
    request(db)
    assert db.pings == 0


def test_a_connection_idle_for_longer_is_pinged_as_before(db: Any) -> None:
    request(db)
    db.answered_at -= RECENTLY_ANSWERED_SECONDS + 0.1
    request(db)
    assert db.pings == 1
    request(db)  # it answered just now
    assert db.pings == 1


def test_a_connection_the_server_dropped_while_idle_is_replaced_before_use(db: Any) -> None:
    request(db)
    pid = db.connection.info.backend_pid
    _terminate(pid)
    db.answered_at -= RECENTLY_ANSWERED_SECONDS + 0.1
    request(db)  # the ping finds it gone: a new connection serves the request
    assert db.pings == 1
    assert db.connection.info.backend_pid != pid


def _terminate(pid: int) -> None:
    """End a server process and wait until it is gone (its goodbye is then on the socket)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(200):
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.01)
    raise AssertionError(f"server process {pid} still there")


def test_a_connection_dropped_within_the_second_is_replaced_before_use(db: Any) -> None:
    request(db)
    pid = db.connection.info.backend_pid
    _terminate(pid)
    request(db)  # its socket is readable: the full check finds it gone
    assert db.pings == 1
    assert db.connection.info.backend_pid != pid


def test_a_connection_with_a_message_waiting_gets_the_full_check(db: Any) -> None:
    request(db)
    with db.cursor() as cursor:
        cursor.execute("LISTEN skarbiec_test")
    db.close_if_unusable_or_obsolete()
    with connection.cursor() as cursor:
        cursor.execute("NOTIFY skarbiec_test")
    time.sleep(0.05)
    request(db)
    assert db.pings == 1


def test_r_x8_a_statement_waits_for_another_transactions_lock_at_most_the_lock_wait(
    db: Any, settings: Any
) -> None:
    """A lock held for long (an administrator's open transaction, a migration) refuses the
    waiting statement as the database unavailable (503 to the client) instead of hanging the
    request, as SQLite's busy timeout does (R-X8, R-X6: settlements end within the in-flight
    window)."""
    with db.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == f"{settings.DATABASE_LOCK_WAIT_SECONDS}s"
    settings.DATABASE_LOCK_WAIT_SECONDS = 0.5
    holder = connections.create_connection(DEFAULT_DB_ALIAS)
    waiter = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with holder.cursor() as cursor:
            cursor.execute("CREATE TABLE IF NOT EXISTS lock_wait_probe (id int PRIMARY KEY)")
            cursor.execute("INSERT INTO lock_wait_probe VALUES (1) ON CONFLICT DO NOTHING")
        holder.set_autocommit(False)
        with holder.cursor() as cursor:
            cursor.execute("SELECT id FROM lock_wait_probe WHERE id = 1 FOR UPDATE")
        started = time.monotonic()
        with pytest.raises(OperationalError), waiter.cursor() as cursor:
            cursor.execute("UPDATE lock_wait_probe SET id = 1 WHERE id = 1")
        assert time.monotonic() - started < 5
    finally:
        holder.rollback()
        holder.set_autocommit(True)
        with holder.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS lock_wait_probe")
        holder.close()
        waiter.close()
