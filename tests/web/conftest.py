import pytest
from django.test import Client
from tests.web.login_steps import english_client


@pytest.fixture
def client() -> Client:
    """English texts in assertions whatever the Polish catalogue says (Polish stays the
    default, see test_language.py)."""
    return english_client()


@pytest.fixture(autouse=True)
def _generous_rate_limits(settings):
    # Tests that are about rate limits lower them again themselves.
    settings.RATE_LIMIT_PER_ADDRESS = (1000, 60)
    settings.RATE_LIMIT_PER_LOGIN = (1000, 60)
