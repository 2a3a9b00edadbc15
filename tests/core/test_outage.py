"""The database unavailable (R-X8): the API answers 503 JSON, the pages a 503 page in the
request's language, both with Retry-After; the next request after the database is back succeeds
without a restart."""

import re
import time

import httpx
import psycopg
import pytest
from django.db import connection

from skarbiec.client import DeviceClient
from skarbiec.wsgi import application
from tests.api.steps import ready_device
from tests.factories import make_member
from tests.outage import database_unreachable
from tests.web.login_steps import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser():
    # The real WSGI stack, with Django's per-request connection checks (close_old_connections)
    # that the test client leaves out.
    with httpx.Client(
        base_url="https://localhost", transport=httpx.WSGITransport(app=application)
    ) as client:
        yield client


@pytest.fixture
def device():
    client = DeviceClient.in_process(language="pl")
    yield client
    client.close()


def test_r_x8_api_answers_503_json_with_retry_after_then_recovers(device, settings):
    settings.RATE_LIMIT_PER_ADDRESS = (1000, 60)
    ready_device(device)
    assert device.request("GET", "/me", auth=True).status_code == 200
    with database_unreachable():
        for method, path in (("GET", "/help"), ("POST", "/challenge"), ("GET", "/me")):
            response = device.request(method, path, auth=True)
            assert response.status_code == 503, (path, response.text)
            assert response.headers["content-type"].startswith("application/json")
            assert response.json()["code"] == "service_unavailable"
            assert "chwilowo" in response.json()["message"]  # Polish by default
            assert int(response.headers["retry-after"]) > 0
    assert device.request("GET", "/me", auth=True).status_code == 200
    assert device.request("POST", "/challenge").status_code == 200


def _csrf_token(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def test_r_x8_pages_answer_a_503_page_in_the_language_then_recover(browser):
    member = make_member()
    token = _csrf_token(browser.get("/").text)
    with database_unreachable():
        response = browser.get("/")
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("text/html")
        assert int(response.headers["retry-after"]) > 0
        assert '<html lang="pl">' in response.text
        english = browser.get("/", headers={"Accept-Language": "en"})
        assert english.status_code == 503
        assert "temporarily unavailable" in english.text
        # A login attempt is refused as unavailable, not as "too many attempts".
        login = {"login": member.login, "password": PASSWORD, "csrfmiddlewaretoken": token}
        posted = browser.post("/login/", data=login, headers={"Referer": "https://localhost/"})
        assert posted.status_code == 503
        assert int(posted.headers["retry-after"]) > 0
    assert browser.get("/").status_code == 200
    posted = browser.post("/login/", data=login, headers={"Referer": "https://localhost/"})
    assert posted.status_code == 302


@pytest.fixture
def per_request_connection_checks():
    """Django's checks of kept connections at each request (the suite turns them off so the
    in-process client does not close the test's connection); this test is about them."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
    yield
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)


def test_r_x8_a_restarted_database_is_used_again_at_the_next_request(
    device, settings, per_request_connection_checks
):
    """A kept connection the server dropped (a restart) is noticed by the health check and
    replaced before the request uses it: the first request after the restart succeeds."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no server to restart")
    assert connection.settings_dict["CONN_HEALTH_CHECKS"]
    settings.RATE_LIMIT_PER_ADDRESS = (1000, 60)
    assert device.request("POST", "/challenge").status_code == 200
    kept = connection.connection
    assert kept is not None  # kept between requests (CONN_MAX_AGE)
    with psycopg.connect(**connection.get_connection_params()) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [kept.info.backend_pid])
        # pg_terminate_backend only signals: wait until the server has dropped the connection.
        for _ in range(500):
            gone = admin.execute(
                "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s)",
                [kept.info.backend_pid],
            ).fetchone()
            if gone and gone[0]:
                break
            time.sleep(0.01)
    assert device.request("POST", "/challenge").status_code == 200
    assert connection.connection is not kept
