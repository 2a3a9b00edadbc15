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
