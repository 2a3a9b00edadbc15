"""Rate limits of login and code endpoints: counted in the database, per window, failing closed
when they cannot count (R-X3, R-W1)."""

import pytest
from django.db import connection
from django.test import Client

from skarbiec.core import clock
from skarbiec.core.errors import RateLimited
from skarbiec.core.throttling import consume_rate_limit
from skarbiec.otp.models import SmsMessage
from tests.factories import make_member


@pytest.mark.django_db
def test_limit_counts_per_subject_and_window():
    for _ in range(3):
        consume_rate_limit("login-addr", "10.0.0.1", 3, 60)
    with pytest.raises(RateLimited):
        consume_rate_limit("login-addr", "10.0.0.1", 3, 60)
    consume_rate_limit("login-addr", "10.0.0.2", 3, 60)  # another address has its own budget
    clock.advance(61)
    consume_rate_limit("login-addr", "10.0.0.1", 3, 60)  # a new window


@pytest.fixture
def limiter_table_gone():
    """Make the limiter's table unreachable for real (not a mock), then put it back."""
    with connection.cursor() as cur:
        cur.execute("ALTER TABLE core_ratelimitcounter RENAME TO core_ratelimitcounter_away")
    yield
    with connection.cursor() as cur:
        cur.execute("ALTER TABLE core_ratelimitcounter_away RENAME TO core_ratelimitcounter")


@pytest.mark.django_db(transaction=True)
def test_r_w1_limiter_that_cannot_count_refuses(limiter_table_gone):
    with pytest.raises(RateLimited):
        consume_rate_limit("login-addr", "10.0.0.1", 1000, 60)


@pytest.mark.django_db(transaction=True)
def test_r_w1_login_page_fails_closed_with_429_and_sends_no_code(limiter_table_gone):
    member = make_member()
    sent_before = SmsMessage.objects.count()
    response = Client().post("/login/", {"login": member.login, "password": "Start#2024pl"})
    assert response.status_code == 429
    assert SmsMessage.objects.count() == sent_before
