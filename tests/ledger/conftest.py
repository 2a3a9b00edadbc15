import pytest


@pytest.fixture(autouse=True)
def _many_codes_allowed(monkeypatch):
    # Ledger tests issue many SMS codes per member; the sending limit (R-O3) has its own tests.
    monkeypatch.setattr("skarbiec.otp.services.SEND_LIMIT", (10_000, 600))
