import pytest


@pytest.fixture(autouse=True)
def _many_codes_allowed(monkeypatch, settings):
    # Ledger tests issue many SMS codes and logins per member; the sending limit (R-O3) and the
    # login rate limits have their own tests.
    settings.OTP_SEND_LIMIT = (10_000, 600)
    settings.RATE_LIMIT_PER_ADDRESS = (10_000, 60)
    settings.RATE_LIMIT_PER_LOGIN = (10_000, 60)
