"""R-D4: JSON request logs with request ids, Prometheus metrics behind a token; R-D5: version.

In-process on SQLite and PostgreSQL. Metrics summed over several gunicorn workers are checked
against real instances in test_deploy_nginx.py."""

import io
import json
import logging
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client

from skarbiec.audit.services import record_event, seal_audit_chains
from skarbiec.core import clock
from skarbiec.core.context import RequestContext
from skarbiec.core.keys import keyed_hash
from skarbiec.operations.logs import JsonFormatter
from skarbiec.otp.sms import queue_sms
from tests.factories import make_member
from tests.web.login_steps import PASSWORD, last_sms_code

TOKEN = "scrape-token-for-tests-0123456789"
WEB = RequestContext(ip_address="10.9.8.7", channel="web")
MOBILE = RequestContext(ip_address="10.9.8.7", channel="mobile")


def _requests(lines: list[str]) -> list[dict]:
    return [e for e in map(json.loads, lines) if e["logger"] == "skarbiec.request"]


@pytest.mark.django_db
def test_r_d4_one_json_line_per_request_with_its_id_route_status_and_hashed_member(settings):
    settings.RATE_LIMIT_PER_ADDRESS = (1000, 60)
    member = make_member()
    client = Client()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(handler)
    try:
        step1 = client.post("/login/", {"login": member.login, "password": PASSWORD})
        code = last_sms_code(member)
        step2 = client.post("/login/code/", {"code": code})
        history = client.get(f"/accounts/999999/?text={member.pesel}")
        # An id out of range is refused while resolving: still logged, still with its id.
        huge = client.get("/transfers/99999999999999999999999/")
    finally:
        logging.getLogger().removeHandler(handler)
    lines = stream.getvalue().splitlines()
    entries = _requests(lines)
    assert [(e["method"], e["route"], e["status"]) for e in entries] == [
        ("POST", "/login/", 302),
        ("POST", "/login/code/", 302),
        ("GET", "/accounts/<id:account_id>/", 404),
        ("GET", "unmatched", 400),
    ]
    assert huge["X-Frame-Options"] == "DENY"
    for entry, response in zip(entries, (step1, step2, history, huge), strict=True):
        assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
        assert entry["request_id"] == response["X-Request-ID"]
        assert isinstance(entry["duration_ms"], float)
    member_hash = keyed_hash("log-member", str(member.pk))[:16]
    # The code step starts the session: its own line does not know the member yet.
    assert [e["member"] for e in entries] == [None, None, member_hash, member_hash]
    # Nothing the member typed or is identified by: Login, password, code, PESEL, phone.
    text = "\n".join(lines)
    for secret in (member.login, PASSWORD, code, member.pesel, member.phone):
        assert secret not in text


@pytest.mark.django_db
def test_r_d4_requests_anyone_can_send_are_logged_as_warnings_without_djangos_stack():
    """Over a thousand form fields: refused with the page (400) and logged by the configured
    handler as a warning, not as an error with a traceback that would page the operator."""
    [console] = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    stream = io.StringIO()
    previous = console.setStream(stream)
    try:
        response = Client().post(
            "/login/",
            "&".join(f"f{i}=x" for i in range(1200)),
            content_type="application/x-www-form-urlencoded",
        )
        logging.getLogger("skarbiec").error("a real error")
    finally:
        console.setStream(previous)
    assert response.status_code == 400
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    [suspicious] = [e for e in entries if e["logger"].startswith("django.security.")]
    assert suspicious["logger"] == "django.security.TooManyFieldsSent"
    assert suspicious["level"] == "WARNING" and "exception" not in suspicious
    assert [e["level"] for e in entries if e["message"] == "a real error"] == ["ERROR"]


def test_r_d4_a_refused_request_is_logged_without_its_query():
    """Django attaches the request to what it logs about it; its text is the whole URL, so a
    PESEL searched in the back-office would be in the log. The line keeps the method and the
    path, and extra text is cut short."""
    [console] = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    stream = io.StringIO()
    previous = console.setStream(stream)
    try:
        Client(HTTP_HOST="attacker.example").get("/backoffice/members/?q=85031212343")
        logging.getLogger("skarbiec").info("long", extra={"detail": "x" * 5000})
    finally:
        console.setStream(previous)
    assert "85031212343" not in stream.getvalue()
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    [refused] = [e for e in entries if e["logger"] == "django.security.DisallowedHost"]
    assert refused["request"] == "GET /backoffice/members/"
    [long] = [e for e in entries if e["message"] == "long"]
    assert len(long["detail"]) == 300


@pytest.mark.django_db
def test_r_d4_request_id_from_outside_is_used_only_behind_the_proxy(settings):
    client = Client()
    forged = "forged-id-0123456789"
    assert client.get("/", HTTP_X_REQUEST_ID=forged)["X-Request-ID"] != forged
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    nginx_id = "3f2a9c0d5e6b7a8190aabbccddeeff00"
    assert client.get("/", HTTP_X_REQUEST_ID=nginx_id)["X-Request-ID"] == nginx_id
    assert client.get("/", HTTP_X_REQUEST_ID='x"}\n{"evil')["X-Request-ID"] != 'x"}\n{"evil'


@pytest.fixture
def scraper(settings) -> Client:
    settings.METRICS_TOKEN = TOKEN
    return Client(HTTP_HOST="10.20.30.40:8001", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


def _metrics(client: Client) -> dict[str, float]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain")
    values = {}
    for line in response.content.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


@pytest.mark.django_db
def test_r_d4_metrics_are_not_served_without_the_token(settings):
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    settings.METRICS_TOKEN = TOKEN
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    # Refused, it is any unknown URL's answer: the not-found page, not an empty body.
    refused, unknown = Client().get("/metrics"), Client().get("/nowhere")  # as long
    assert refused["Content-Type"] == unknown["Content-Type"] == "text/html; charset=utf-8"
    assert refused.content.count(b"<h1") == 1
    assert len(refused.content) == len(unknown.content)


@pytest.mark.django_db
def test_r_d4_metrics_count_logins_failures_and_blocks_by_channel_from_the_audit_log(scraper):
    member = make_member()
    ids = {"credit_union_id": member.credit_union_id, "member_id": member.pk}
    before = _metrics(scraper)
    for event, ctx in [
        ("web_login", WEB), ("web_login", WEB), ("web_login_failed", WEB),
        ("mobile_login", MOBILE), ("mobile_login_failed", MOBILE),
        ("mobile_login_failed", MOBILE), ("mobile_channel_blocked", MOBILE),
    ]:  # fmt: skip
        record_event(event, ctx, **ids)
    seal_audit_chains()  # what the worker does every few seconds: counts follow sealed events
    after = _metrics(scraper)

    def grew(name: str) -> float:
        return after[name] - before.get(name, 0)

    assert grew('skarbiec_logins_total{channel="web"}') == 2
    assert grew('skarbiec_logins_total{channel="mobile"}') == 1
    assert grew('skarbiec_login_failures_total{channel="web"}') == 1
    assert grew('skarbiec_login_failures_total{channel="mobile"}') == 2
    assert grew('skarbiec_channel_blocks_total{channel="mobile"}') == 1
    assert grew('skarbiec_channel_blocks_total{channel="web"}') == 0


@pytest.mark.django_db
def test_r_d4_audit_counts_follow_the_database_when_events_vanish(scraper):
    """A restored (or, here, rolled back) database must not leave old counts behind, even when
    the audit chain has grown back to the same length with other events."""
    member = make_member()
    ids = {"credit_union_id": member.credit_union_id, "member_id": member.pk}
    logins, failures = (
        'skarbiec_logins_total{channel="web"}',
        ('skarbiec_login_failures_total{channel="web"}'),
    )
    before = _metrics(scraper)
    with pytest.raises(RuntimeError), transaction.atomic():
        for _ in range(3):
            record_event("web_login", WEB, **ids)
        seal_audit_chains()
        assert _metrics(scraper)[logins] == before.get(logins, 0) + 3
        raise RuntimeError("roll back")
    for _ in range(3):
        record_event("web_login_failed", WEB, **ids)
    seal_audit_chains()
    after = _metrics(scraper)
    assert after[logins] == before.get(logins, 0)
    assert after[failures] == before.get(failures, 0) + 3


@pytest.mark.django_db
def test_r_d4_metrics_show_the_sms_outbox_length_and_oldest_age(scraper):
    member = make_member()  # its temporary password SMS waits in the outbox
    queue_sms(member.phone, "Kod 123456", member=member)
    clock.advance(90)
    values = _metrics(scraper)
    assert values["skarbiec_sms_outbox_pending"] == 2
    assert 90 <= values["skarbiec_sms_outbox_oldest_seconds"] < 100
    assert 'skarbiec_orders{state="booked"}' in values


@pytest.mark.django_db
def test_r_d4_request_latency_histogram_by_route(scraper):
    Client().get("/get-the-app/")
    values = _metrics(scraper)
    key = (
        'skarbiec_http_request_duration_seconds_count{method="GET",route="/get-the-app/",'
        'status="2xx"}'
    )
    assert values[key] >= 1


@pytest.mark.parametrize("asked", ["--version", "version"])
def test_r_d5_skarbiec_version_prints_the_installed_version(asked):
    out = subprocess.run(
        [sys.executable, "-m", "skarbiec", asked], capture_output=True, text=True,
        check=True, timeout=60,
    ).stdout  # fmt: skip
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    expected = tomllib.loads(pyproject.read_text())["project"]["version"]
    assert out.strip() == f"skarbiec {expected}"
