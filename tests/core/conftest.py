import pytest


@pytest.fixture
def _api(settings):
    """Secrets tried many times from one test address: the rate limits stay out of the way
    (they are counted all the same), and the app's origin is the default public URL."""
    settings.RATE_LIMIT_PER_ADDRESS = (1000, 60)
    settings.RATE_LIMIT_PER_LOGIN = (1000, 60)
    settings.PUBLIC_URL = "https://localhost:8443"
