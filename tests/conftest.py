import pytest
from django.utils import translation

from skarbiec.core import clock


@pytest.fixture(autouse=True)
def _reset_clock():
    clock.reset()
    yield
    clock.reset()


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
