import time

import pytest
from django.utils import translation

from skarbiec.core import clock


@pytest.fixture(autouse=True)
def _reset_clock():
    clock.reset()
    yield
    clock.reset()


@pytest.fixture
def fresh_rate_limit_window():
    """Rate limits count in windows aligned to the minute (core/throttling.py): a test that
    fills one with a few requests must not run across its end. Moves the clock to the start
    of the next minute."""
    clock.advance(60 - clock.now().timestamp() % 60)


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language (Polish, R-X5): a request through the test client
    leaves its language active in the thread, so later tests would otherwise depend on order."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _keep_test_connection():
    """The WSGI handler closes database connections when a request ends; inside a test's
    transaction that would close the test's own connection. Django's test client disconnects the
    same signal handlers for the same reason; the in-process device client (httpx over WSGI)
    needs it done here."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(scope="session", autouse=True)
def _no_connections_left_behind(django_db_setup, django_db_blocker):
    """Servers the tests start (`skarbiec run`, workers) may still be closing their database
    connections when the session ends; the test databases are dropped only once they are gone."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        for _ in range(50):
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.1)


@pytest.fixture(autouse=True)
def _lock_order_watched(request):
    """On PostgreSQL, every statement of a test's own connection goes past the watch of
    tests/lock_order.py: a member's row locked after a row a settlement locks after it fails
    the test."""
    from django.db import connection

    from tests.lock_order import LockOrderWatch

    if request.node.get_closest_marker("django_db") is None:
        yield
        return
    request.getfixturevalue("_django_db_helper")
    if connection.vendor != "postgresql":
        yield
        return
    watch = LockOrderWatch(outer=len(connection.atomic_blocks))
    with connection.execute_wrapper(watch):
        yield
    assert watch.violations == [], watch.violations
