"""Django's PostgreSQL backend, with the health check of a connection that answered moments ago
done without a round trip.

With CONN_HEALTH_CHECKS each request that touches the database first sends `SELECT 1` on its
persistent connection, so a connection the server dropped (a restart, a failover, an
administrator's `pg_terminate_backend`) is replaced before it fails a member's request. Under
load that is one round trip in every request (two in a PIN login, one of two in an
authenticated call). A server that ends a connection says so on its socket (a FATAL message,
then end of file), so for a connection that answered the previous request of its thread less
than a second ago, a socket with nothing to read is taken as healthy. Anything waiting on it,
or a connection idle for longer (a silent network failure), gets the `SELECT 1` as before.
"""

import select
import time

from django.conf import settings
from django.db.backends.postgresql import base

RECENTLY_ANSWERED_SECONDS = 1.0


class DatabaseWrapper(base.DatabaseWrapper):
    answered_at = float("-inf")
    health_check_done: bool  # Django's, reset as each request starts

    def init_connection_state(self) -> None:
        """A statement waits for a row or table lock at most DATABASE_LOCK_WAIT_SECONDS, as on
        SQLite (its busy timeout): a transaction that holds a lock for long (a stuck
        administrator's session, a migration) gets requests a 503 instead of hanging them, and
        a wrong secret's settlement ends well within the in-flight window (R-X6). Set on the
        session; behind PgBouncer's transaction pooling a session setting does not follow the
        connection, so docs/scaling.md has the role carry it (`ALTER ROLE … SET`)."""
        super().init_connection_state()
        milliseconds = int(settings.DATABASE_LOCK_WAIT_SECONDS * 1000)
        with self.connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {milliseconds}")
        if not self.get_autocommit():
            self.connection.commit()

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and not self.health_check_done
            and time.monotonic() - self.answered_at < RECENTLY_ANSWERED_SECONDS
            and self._socket_quiet()
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def _socket_quiet(self) -> bool:
        """Nothing to read on an idle connection: the server has neither sent a notice nor
        closed it."""
        try:
            if self.connection.closed or self.connection.broken:
                return False
            poller = select.poll()
            poller.register(self.connection.pgconn.socket, select.POLLIN | select.POLLPRI)
            return not poller.poll(0)
        except Exception:  # noqa: BLE001 - any doubt means the full check
            return False

    def close_if_unusable_or_obsolete(self) -> None:
        # Called as each request starts and ends; `health_check_done` says the request used
        # the connection, `errors_occurred` that a statement failed on it.
        failed = self.errors_occurred
        used = self.connection is not None and self.health_check_done
        super().close_if_unusable_or_obsolete()
        if self.connection is None or failed:
            self.answered_at = float("-inf")  # the next request checks it
        elif used:
            self.answered_at = time.monotonic()
