import pytest

from skarbiec.client import DeviceClient


@pytest.fixture(autouse=True)
def _api_settings(settings):
    # Tests about rate limits lower them again themselves.
    settings.RATE_LIMIT_PER_ADDRESS = (1000, 60)
    settings.RATE_LIMIT_PER_LOGIN = (1000, 60)
    settings.PUBLIC_URL = "https://localhost:8443"


@pytest.fixture
def device():
    client = DeviceClient.in_process(language="en")
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _keep_test_connection():
    """The WSGI handler closes database connections when a request ends; inside a test's
    transaction that would close the test's own connection. Django's test client disconnects the
    same signal handlers for the same reason."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
