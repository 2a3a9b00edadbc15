"""Rate limits of login and code endpoints: counted in the database, per window, failing closed
when they cannot count (R-X3, R-W1), as "unavailable" rather than "too many attempts" (R-X8)."""

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test import Client

from skarbiec.client import DeviceClient
from skarbiec.core import clock
from skarbiec.core.errors import RateLimited, ServiceUnavailable
from skarbiec.core.models import RateLimitCounter
from skarbiec.core.throttling import address_subject, consume_rate_limit, rate_limit_key
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


@pytest.mark.django_db(transaction=True)
def test_r_x3_parallel_requests_are_each_counted_exactly_once():
    """Thirty requests at once on separate connections: all thirty are counted and a limit of
    twenty lets exactly twenty through (no count lost between a read and a write)."""
    requests = 30
    start = threading.Barrier(requests)
    outcomes: list[str] = []
    lock = threading.Lock()

    def request() -> None:
        try:
            start.wait()
            consume_rate_limit("login-addr", "10.0.0.9", 20, 60)
            result = "passed"
        except RateLimited:
            result = "limited"
        except Exception as e:  # a crash must fail the test, visibly
            result = f"crash:{type(e).__name__}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=request) for _ in range(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(outcomes) == {"passed": 20, "limited": 10}, outcomes
    counted = RateLimitCounter.objects.filter(key=rate_limit_key("login-addr", "10.0.0.9"))
    assert sum(row.count for row in counted) == requests


@pytest.fixture
def limiter_table_gone():
    """Make the limiter's table unreachable for real (not a mock), then put it back."""
    with connection.cursor() as cur:
        cur.execute("ALTER TABLE core_ratelimitcounter RENAME TO core_ratelimitcounter_away")
    yield
    with connection.cursor() as cur:
        cur.execute("ALTER TABLE core_ratelimitcounter_away RENAME TO core_ratelimitcounter")


@pytest.mark.django_db(transaction=True)
def test_r_w1_r_x8_limiter_that_cannot_count_refuses_as_unavailable(limiter_table_gone):
    with pytest.raises(ServiceUnavailable):
        consume_rate_limit("login-addr", "10.0.0.1", 1000, 60)


@pytest.mark.django_db(transaction=True)
def test_r_w1_r_x8_login_page_fails_closed_with_503_and_sends_no_code(limiter_table_gone):
    member = make_member()
    sent_before = SmsMessage.objects.count()
    response = Client().post("/login/", {"login": member.login, "password": "Start#2024pl"})
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert SmsMessage.objects.count() == sent_before


@pytest.mark.django_db(transaction=True)
def test_r_x8_challenge_fails_closed_with_503_not_rate_limited(limiter_table_gone):
    device = DeviceClient.in_process(language="en")
    response = device.request("POST", "/challenge")
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert int(response.headers["retry-after"]) > 0
    device.close()


@pytest.mark.django_db
def test_r_x10_members_behind_one_address_do_not_limit_each_others_logins(
    settings, fresh_rate_limit_window
):
    """R-X10: per address only failures count. A carrier's shared address is not spent by
    members who log in correctly, while one address guessing is still stopped."""
    settings.RATE_LIMIT_PER_ADDRESS = (3, 60)
    carrier = Client(REMOTE_ADDR="100.64.0.1")
    members = [make_member() for _ in range(8)]
    for member in members:
        response = carrier.post("/login/", {"login": member.login, "password": "Start#2024pl"})
        assert response.status_code == 302
    for member in members[:3]:
        response = carrier.post("/login/", {"login": member.login, "password": "Wrong#pass1"})
        assert response.status_code == 401
    response = carrier.post("/login/", {"login": members[5].login, "password": "Start#2024pl"})
    assert response.status_code == 429
    # Refused before the password was looked at: nothing counted for that member.
    assert members[5].web_channel.__class__.objects.get(member=members[5]).failed_attempts == 0
    # Another address is not affected.
    other = Client(REMOTE_ADDR="100.64.0.2")
    response = other.post("/login/", {"login": members[5].login, "password": "Start#2024pl"})
    assert response.status_code == 302


@pytest.mark.django_db
def test_r_x10_an_activated_device_asks_for_challenges_per_device_not_per_address(
    settings, fresh_rate_limit_window
):
    """R-X10: an activated device's challenges count per device; only anonymous challenges
    count per address, so members behind one address keep logging in."""
    from skarbiec.client import ApiError
    from tests.api.steps import device_beside_web_client, ready_device

    settings.PUBLIC_URL = "https://localhost:8443"
    phone = device_beside_web_client(language="en")
    ready_device(phone)
    clock.advance(60)  # a fresh window, from its start (the fixture aligned the clock)
    settings.RATE_LIMIT_PER_ADDRESS = (2, 60)  # anonymous challenges: 4 per address
    anonymous = device_beside_web_client(language="en")
    for _ in range(4):
        anonymous.challenge()
    with pytest.raises(ApiError) as e:
        anonymous.challenge()
    assert e.value.status == 429
    assert e.value.body["retry_after"] > 0
    # The member's own phone behind the same address still gets its challenges and logs in.
    phone.logout()
    assert phone.login_pin("48159")["token"]


@pytest.mark.django_db
def test_r_x8_waiting_the_retry_after_a_rate_limit_names_is_enough(monkeypatch):
    """Half a second into a minute's window 59.5 s are left: the answer says 60, never 59, so
    a client that waits what it was told is not refused again."""
    at = [datetime(2027, 1, 20, 12, 0, 0, 500000, tzinfo=UTC)]
    monkeypatch.setattr(clock, "now", lambda: at[0])
    consume_rate_limit("probe", "x", 1, 60)
    with pytest.raises(RateLimited) as e:
        consume_rate_limit("probe", "x", 1, 60)
    wait = e.value.as_dict()["retry_after"]
    assert wait == 60
    at[0] += timedelta(seconds=wait)
    consume_rate_limit("probe", "x", 1, 60)


@pytest.mark.parametrize(
    ("address", "counted_as"),
    [
        ("10.1.2.3", "10.1.2.3"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:10.1.2.3", "10.1.2.3"),
        ("", "-"),
        ("not an address", "not an address"),
    ],
)
def test_r_x10_an_ipv6_client_is_counted_by_its_64_network(address, counted_as):
    assert address_subject(address) == counted_as


@pytest.mark.django_db
def test_r_x10_failures_from_addresses_of_one_ipv6_network_share_one_limit(
    settings, fresh_rate_limit_window
):
    """A client given a /64 picks any of its 2^64 addresses: wrong passwords from new
    addresses of one network are refused at the per-address limit."""
    settings.RATE_LIMIT_PER_ADDRESS = (3, 60)
    for n in range(3):
        client = Client(REMOTE_ADDR=f"2001:db8:1:2::{n + 1:x}")
        answer = client.post("/login/", {"login": f"00000000{n:02d}", "password": "Wrong#2024pl"})
        assert answer.status_code == 401, answer.status_code
    refused = Client(REMOTE_ADDR="2001:db8:1:2:9::9").post(
        "/login/", {"login": "0000000099", "password": "Wrong#2024pl"}
    )
    assert refused.status_code == 429
    other = Client(REMOTE_ADDR="2001:db8:1:3::1").post(
        "/login/", {"login": "0000000098", "password": "Wrong#2024pl"}
    )
    assert other.status_code == 401


def test_r_x9_counters_name_logins_and_addresses_by_a_keyed_hash():
    """A plain hash of a 10-digit Login (or a PESEL typed in its place) is undone by trying
    all of them; the counters' keys need the installation's key to be read."""
    import hashlib

    key = rate_limit_key("unknown-login", "85031212343")
    assert key.startswith("unknown-login:") and len(key) == len("unknown-login:") + 40
    assert hashlib.sha256(b"85031212343").hexdigest()[:40] not in key
    assert key == rate_limit_key("unknown-login", "85031212343")


@pytest.mark.django_db(transaction=True)
def test_r_x9_the_upgrade_renames_every_counter_by_its_keyed_hash():
    """No plain hash of a Login stays in the table after the upgrade, and the failures an
    unknown Login had go on counting under its new name (R-T3)."""
    from skarbiec.core.throttling import UnknownLoginCounter, plain_digest
    from tests.migrating import migrate_to, migrated_back_to

    with migrated_back_to(("core", "0002_attempts_in_flight")) as earlier:
        earlier.get_model("core", "RateLimitCounter").objects.create(
            key=f"unknown-login:{plain_digest('0000000042')}", window_start=0, count=2
        )
        migrate_to(("core", "0003_rate_limit_keyed_names"))
        [renamed] = RateLimitCounter.objects.values_list("key", "count")
    assert renamed == (rate_limit_key("unknown-login", "0000000042"), 2)
    assert plain_digest("0000000042") not in renamed[0]
    counter = UnknownLoginCounter(
        "unknown-login", "0000000042", 3, wrong=lambda left: RateLimited(), blocked=RateLimited
    )
    with transaction.atomic():
        assert counter.lock().count == 2
