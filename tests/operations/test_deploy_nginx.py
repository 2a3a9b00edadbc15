"""R-D1 with the real parts: Debian's nginx (deploy/nginx) in front of two `skarbiec run`
instances and the SMS worker (deploy/systemd, deploy/skarbiec.env) on PostgreSQL.

A member logs in through nginx and the next requests, answered by the other instance, keep the
session; wrong PINs sent to alternating instances block at exactly three; an X-Forwarded-For
from outside is not trusted. Also the edge itself: HTTP → HTTPS, TLS suites, HSTS, static
files, body limit, flood limit, internal-only probes and metrics (R-D2, R-D4), and the pages
nginx serves when no instance answers.
"""

import concurrent.futures
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from skarbiec.client import DeviceClient
from tests.operations.deployment import (
    METRICS_TOKEN,
    Deployment,
    admin_connection,
    deploy,
    drop_database,
)

POSTGRES_URL = os.environ.get("DATABASE_URL", "")
pytestmark = pytest.mark.skipif(
    not POSTGRES_URL.startswith("postgres"),
    reason="production layout: nginx and several instances share PostgreSQL (R-D1, R-X3); "
    "SQLite is a single-machine trial setup",
)

MOBILE_PASSWORD = "Mobi!e2024xy"
WEB_PASSWORDS = {"Anna": "Demo#Anna2024", "Jan": "Demo#Jan2024"}  # `skarbiec demo`'s
PIN = "48159"
WRONG_PIN = "27364"
OUTSIDE_ADDRESS = "203.0.113.9"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    deployment = deploy(tmp_path_factory.mktemp("deploy"), POSTGRES_URL)
    try:
        yield deployment
    finally:
        deployment.stop()
        drop_database(deployment, POSTGRES_URL)


@pytest.fixture(scope="module")
def tls(stack: Deployment) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(stack.ca))


@pytest.fixture(scope="module")
def logins(stack: Deployment) -> dict[str, str]:
    return dict(re.findall(r"(Anna|Jan) \w+\s+Login (\d{10})", stack.run("demo")))


def browser(stack: Deployment, tls: ssl.SSLContext) -> httpx.Client:
    return httpx.Client(
        base_url=stack.base_url, verify=tls, timeout=20, cookies={"skarbiec_lang": "en"}
    )


def last_code(stack: Deployment) -> str:
    out = stack.run("sms", "outbox", "--last", "1")
    match = re.search(r"\b(\d{6})\b", out.split("]", 1)[-1])
    assert match, out
    return match.group(1)


def post_form(client: httpx.Client, page: str, action: str, form: dict[str, str]) -> httpx.Response:
    shown = client.get(page)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', shown.text)
    assert token, shown.text[:300]
    base = str(client.base_url).rstrip("/")
    return client.post(
        action,
        data={**form, "csrfmiddlewaretoken": token.group(1)},
        headers={"Origin": base, "Referer": f"{base}/"},
    )


def test_r_d1_member_logs_in_through_nginx_and_the_session_holds_on_both_instances(
    stack: Deployment, tls: ssl.SSLContext, logins: dict[str, str]
):
    with browser(stack, tls) as web:
        step1 = post_form(
            web, "/", "/login/", {"login": logins["Anna"], "password": WEB_PASSWORDS["Anna"]}
        )
        assert (step1.status_code, step1.headers["location"]) == (302, "/login/code/")
        step2 = post_form(web, "/login/code/", "/login/code/", {"code": last_code(stack)})
        assert (step2.status_code, step2.headers["location"]) == (302, "/start/")
        served = set()
        for _ in range(4):
            start = web.get("/start/")
            assert start.status_code == 200 and "Anna" in start.text
            served.add(stack.served_by(start.headers["x-request-id"]))
    assert served == {"instance1", "instance2"}


@pytest.fixture(scope="module")
def phones(
    stack: Deployment, tls: ssl.SSLContext, logins: dict[str, str]
) -> Iterator[Callable[[str], DeviceClient]]:
    """A demo member's phone, activated on first use: the member turns the mobile channel on in
    the internet service and activates the app, every step through nginx."""
    made: dict[str, DeviceClient] = {}

    def activate(name: str) -> DeviceClient:
        login = logins[name]
        with browser(stack, tls) as web:
            post_form(web, "/", "/login/", {"login": login, "password": WEB_PASSWORDS[name]})
            post_form(web, "/login/code/", "/login/code/", {"code": last_code(stack)})
            page = "/settings/channels/mobile/activate/"
            step = post_form(web, page, page, {"new_password": MOBILE_PASSWORD,
                                                "repeated": MOBILE_PASSWORD})  # fmt: skip
            assert step.status_code == 302, step.text[:500]
            code_page = step.headers["location"]
            done = post_form(web, code_page, code_page, {"code": last_code(stack)})
            assert done.status_code == 302, done.text[:500]
        phone = DeviceClient(stack.base_url, verify=tls, language="en")
        if phone.activate(login, MOBILE_PASSWORD)["otp_required"]:
            phone.confirm_activation(last_code(stack))
        phone.set_pin(PIN)
        return phone

    def phone(name: str) -> DeviceClient:
        if name not in made:
            made[name] = activate(name)
        return made[name]

    yield phone
    for phone in made.values():
        phone.close()


@pytest.fixture(scope="module")
def device(phones: Callable[[str], DeviceClient]) -> DeviceClient:
    """Jan's phone, for tests that keep his app open."""
    return phones("Jan")


@pytest.fixture(scope="module")
def device_to_block(phones: Callable[[str], DeviceClient]) -> DeviceClient:
    """Anna's phone, for the test that blocks it: Jan's stays usable whatever the order."""
    return phones("Anna")


def test_r_d1_mobile_session_token_works_on_both_instances(stack: Deployment, device):
    device.login_pin(PIN)
    served = set()
    for _ in range(4):
        response = device.request("GET", "/me", auth=True)
        assert response.status_code == 200
        served.add(stack.served_by(response.headers["x-request-id"]))
    assert served == {"instance1", "instance2"}


@pytest.fixture(scope="module")
def wrong_pins(
    device_to_block: DeviceClient, stack: Deployment
) -> tuple[list[tuple[int, str, int | None]], list[str]]:
    """Anna's phone tries two wrong PINs, a third, then the right one, each try with headers a
    client may send to pass for someone else; the answers and the instance that gave each."""
    forged = {"X-Forwarded-For": OUTSIDE_ADDRESS, "X-Real-IP": OUTSIDE_ADDRESS,
              "X-Forwarded-Host": "evil.example"}  # fmt: skip
    answers, served = [], []
    for attempt in range(4):
        pin = PIN if attempt == 3 else WRONG_PIN
        body = device_to_block.login_pin_body(pin)
        response = device_to_block.request("POST", "/login/pin", json=body, headers=forged)
        answers.append((response.status_code, response.json().get("code"),
                        response.json().get("attempts_left")))  # fmt: skip
        served.append(stack.served_by(response.headers["x-request-id"]))
        # Each try is two requests (challenge, login) and nginx takes turns: one more request
        # moves the next login to the other instance.
        device_to_block.request("GET", "/help")
    return answers, served


def test_r_d1_wrong_pins_on_alternating_instances_block_at_exactly_three_and_xff_is_not_trusted(
    stack: Deployment, wrong_pins: tuple[list[tuple[int, str, int | None]], list[str]]
):
    answers, served = wrong_pins
    assert answers == [
        (401, "wrong_pin", 2), (401, "wrong_pin", 1), (403, "channel_blocked", None),
        (403, "channel_blocked", None),
    ]  # fmt: skip
    assert served[0] != served[1] and served[1] != served[2] and served[2] != served[3], served
    addresses = stack.sql(
        "SELECT DISTINCT ip_address FROM audit_auditevent WHERE event = 'mobile_login_failed'"
    )
    assert addresses == [("127.0.0.1",)]  # the address nginx saw, never the forged one


def test_r_d1_plain_http_only_redirects_to_https(stack: Deployment):
    response = httpx.get(
        f"http://127.0.0.1:{stack.http_port}/login/?next=%2Fstart%2F",
        headers={"Host": "localhost"},
        timeout=60,
    )
    assert response.status_code == 301
    assert response.headers["location"] == "https://localhost/login/?next=%2Fstart%2F"


def test_r_d1_tls_offers_aead_suites_only(stack: Deployment, tls: ssl.SSLContext):
    def handshake(ciphers: str) -> str:
        context = ssl.create_default_context(cafile=str(stack.ca))
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(ciphers)
        raw = socket.create_connection(("127.0.0.1", stack.https_port), timeout=5)
        try:
            with context.wrap_socket(raw, server_hostname="localhost") as s:
                return str(s.cipher()[0])
        except ssl.SSLError as e:
            return f"refused: {e.reason}"

    assert handshake("ECDHE-ECDSA-AES128-GCM-SHA256") == "ECDHE-ECDSA-AES128-GCM-SHA256"
    assert handshake("ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384").startswith("refused")


def test_r_d1_hsts_once_static_files_from_nginx_and_request_ids(
    stack: Deployment, tls: ssl.SSLContext
):
    with browser(stack, tls) as web:
        page = web.get("/")
        static = web.get("/static/web/css/skarbiec.css")
    assert page.status_code == 200
    assert page.headers.get_list("strict-transport-security") == [
        "max-age=31536000; includeSubDomains"
    ]
    assert stack.served_by(page.headers["x-request-id"]) in {"instance1", "instance2"}
    assert static.status_code == 200 and "text/css" in static.headers["content-type"]
    assert "x-request-id" not in static.headers  # never reached an instance
    assert static.headers.get_list("strict-transport-security") == [
        "max-age=31536000; includeSubDomains"
    ]
    assert static.headers["x-content-type-options"] == "nosniff"


def post_over_http2(
    stack: Deployment, path: str, body: Path, headers: dict[str, str]
) -> tuple[str, int, str]:
    """HTTP version, status and body of a POST sent with curl over HTTP/2 (httpx needs the h2
    package for it, which the project does not install)."""
    curl = shutil.which("curl")
    assert curl, "curl is needed to send requests over HTTP/2"
    answer = body.with_suffix(".answer")
    command = [curl, "-sS", "--http2", "--cacert", str(stack.ca), "-o", str(answer),
               "-w", "%{http_version} %{http_code}", "--data-binary", f"@{body}"]  # fmt: skip
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run(
        [*command, stack.base_url + path], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    version, status = done.stdout.split()
    return version, int(status), answer.read_text()


def test_r_d1_body_over_the_application_limit_is_refused_by_nginx_in_the_members_language(
    stack: Deployment, tls: ssl.SSLContext, tmp_path: Path
):
    """Over HTTP/1.1 (httpx) and HTTP/2 (curl) alike: nginx checks the body's size again where
    it answers over HTTP/2, and must answer our page there too, not its own."""
    from django.conf import settings

    too_big = b"x" * (settings.MAX_REQUEST_BYTES + 1)
    with httpx.Client(base_url=stack.base_url, verify=tls, timeout=20) as client:
        json_en = {"Accept-Language": "en", "Content-Type": "application/json"}
        api = client.post("/api/mobile/v1/activation", content=too_big, headers=json_en)
        page = client.post("/login/", content=too_big)
    assert api.status_code == 413
    assert api.json()["code"] == "request_too_large"
    assert "too large" in api.json()["message"]
    assert page.status_code == 413
    assert '<html lang="pl">' in page.text  # no cookie, no preference: Polish

    body = tmp_path / "too-big.json"
    body.write_bytes(too_big)
    api2 = post_over_http2(stack, "/api/mobile/v1/activation", body, json_en)
    page2 = post_over_http2(stack, "/login/", body, {})
    assert api2[:2] == ("2", 413), api2[2][:300]
    assert json.loads(api2[2]) == json.loads(api.text)
    assert page2[:2] == ("2", 413) and page2[2] == page.text


def test_r_x8_requests_too_long_to_read_are_refused_as_json_in_the_api_and_a_page_elsewhere(
    stack: Deployment, tls: ssl.SSLContext
):
    """nginx refuses a header over its buffers itself (431): JSON under /api/, a page in the
    member's language elsewhere. An address over its buffers (414) cannot even be read, so it
    gets nginx's page. Lines between 4 and 8 KB, which gunicorn refused as JSON for pages too,
    reach the application and are answered by it, each its way."""
    big_header = {"Accept-Language": "en", "X-Padding": "b" * 9000}
    english = {"Accept-Language": "en"}
    with httpx.Client(base_url=stack.base_url, verify=tls, timeout=20) as client:
        api = client.get("/api/mobile/v1/session", headers=big_header)
        page = client.get("/", headers=big_header)
        long_address = client.get("/api/mobile/v1/session", params={"x": "a" * 9000})
        page_between = client.get("/", params={"q": "a" * 5000}, headers=english)
        api_between = client.get("/api/mobile/v1/session", params={"x": "a" * 5000})
    assert api.status_code == 431, api.text[:300]
    assert api.json() == {
        "code": "request_too_large",
        "message": "The data you sent is too large. Shorten it and try again.",
    }
    assert page.status_code == 431 and '<html lang="en">' in page.text
    assert long_address.status_code == 414, long_address.text[:300]
    assert long_address.headers["strict-transport-security"] == (
        "max-age=31536000; includeSubDomains"
    )
    assert page_between.status_code < 500
    assert page_between.headers["content-type"].startswith("text/html")
    assert '<html lang="en">' in page_between.text
    assert api_between.status_code == 401 and api_between.json()["code"] == "not_authenticated"


def test_r_d2_probes_and_metrics_are_internal_only(
    stack: Deployment, tls: ssl.SSLContext, device: DeviceClient, wrong_pins: object
):
    """The metrics count what the fixtures did: two web logins (each phone's activation) and
    Anna's three wrong PINs with the block they caused."""
    with httpx.Client(base_url=stack.base_url, verify=tls, timeout=20) as outside:
        assert outside.get("/healthz").status_code == 200
        assert outside.get("/readyz").status_code == 404
        bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        assert outside.get("/metrics", headers=bearer).status_code == 404
    instance = f"http://127.0.0.1:{stack.app_ports[0]}"
    ready = httpx.get(f"{instance}/readyz", timeout=60)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "sms-worker": "ok"}
    # The metrics count audit events once the worker has sealed them into their chain, which
    # it does every couple of seconds: wait for the seal rather than race it.
    expected = [
        r'^skarbiec_logins_total\{channel="web"\} [2-9]',
        r'^skarbiec_login_failures_total\{channel="mobile"\} 3\.0$',
        r'^skarbiec_channel_blocks_total\{channel="mobile"\} 1\.0$',
    ]
    deadline = time.monotonic() + 20
    while True:
        scraped = httpx.get(f"{instance}/metrics", headers=bearer, timeout=60)
        assert scraped.status_code == 200
        missing = [line for line in expected if not re.search(line, scraped.text, re.M)]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert missing == [], scraped.text


def test_r_d4_latency_histogram_sums_every_gunicorn_worker_of_an_instance(stack: Deployment):
    port = stack.app_ports[1]
    route = "/m/manifest.webmanifest"
    headers = {"Host": "localhost", "X-Forwarded-Proto": "https", "Connection": "close"}
    sent = 0
    pids: set[int] = set()
    # Eight at once so both workers take some; the generous timeout is for a CI machine whose
    # two cores also run the rest of the suite (what is measured here is counting, not speed).
    url = f"http://127.0.0.1:{port}{route}"
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as senders:
        while len(pids) < 2 and sent < 400:
            batch = [senders.submit(httpx.get, url, headers=headers, timeout=60)
                     for _ in range(8)]  # fmt: skip
            assert [f.result().status_code for f in batch] == [200] * 8
            sent += len(batch)
            pids = {e["pid"] for e in stack.instances[1].request_lines() if e["route"] == route}
    assert len(pids) >= 2, "the requests never spread over two workers"
    key = (f'skarbiec_http_request_duration_seconds_count{{method="GET",route="{route}",'
           'status="2xx"}')  # fmt: skip
    for _ in range(6):  # each scrape on a fresh connection, answered by any worker
        bearer = {"Authorization": f"Bearer {METRICS_TOKEN}", "Connection": "close"}
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", headers=bearer, timeout=60).text
        counts = [line.rsplit(" ", 1)[1] for line in text.splitlines() if line.startswith(key)]
        assert counts == [f"{float(sent)}"]


def test_r_d2_readyz_names_a_lost_database_and_recovers_without_restart(stack: Deployment):
    instance = f"http://127.0.0.1:{stack.app_ports[0]}"
    name = stack.database
    with admin_connection(POSTGRES_URL) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))  # fmt: skip
        try:
            down = httpx.get(f"{instance}/readyz", timeout=60)
            alive = httpx.get(f"{instance}/healthz", timeout=60)
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    assert down.status_code == 503
    assert down.json()["failing"][0] == "database"
    assert down.json()["checks"]["database"] == "unavailable"
    assert alive.status_code == 200
    # Recovered without a restart.
    assert httpx.get(f"{instance}/readyz", timeout=60).json()["checks"]["database"] == "ok"


def test_r_d2_readyz_names_the_worker_when_its_heartbeat_is_older_than_a_minute(
    stack: Deployment,
):
    assert stack.worker is not None
    stack.worker.stop()
    try:
        stack.sql("UPDATE operations_heartbeat SET beat_at = beat_at - interval '61 seconds'")
        ready = httpx.get(f"http://127.0.0.1:{stack.app_ports[1]}/readyz", timeout=60)
    finally:
        stack.start_worker()  # the other tests of this deployment, in whatever order
    assert ready.status_code == 503
    assert ready.json()["failing"] == ["sms-worker"]


def test_r_d1_login_urls_have_a_flood_limit_per_address(stack: Deployment, tls: ssl.SSLContext):
    """Ten parallel senders outrun 50 requests a second on any machine; after the burst of 100
    nginx answers 429 itself (JSON on the API) without asking an instance."""
    statuses: list[int] = []
    limited: list[httpx.Response] = []

    def flood() -> None:
        with httpx.Client(base_url=stack.base_url, verify=tls, timeout=30,
                          headers={"Accept-Language": "en"}) as client:  # fmt: skip
            for _ in range(40):
                response = client.get("/api/mobile/v1/login/pin")
                statuses.append(response.status_code)
                if response.status_code == 429:
                    limited.append(response)

    senders = [threading.Thread(target=flood) for _ in range(10)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    # The burst refills at 50 a second: the other tests, in whatever order, find it full.
    time.sleep(100 / 50 + 1)
    assert set(statuses) == {405, 429}  # the app's answer to GET, until the limit
    assert statuses.count(405) >= 100  # the burst passes
    assert limited[0].json()["code"] == "rate_limited"
    assert "x-request-id" not in limited[0].headers  # nginx answered, no instance was asked


def test_r_d1_with_every_instance_down_nginx_answers_in_the_members_language(
    stack: Deployment, tls: ssl.SSLContext
):
    for instance in stack.instances:
        instance.stop()
    try:
        with httpx.Client(base_url=stack.base_url, verify=tls, timeout=20) as client:
            page = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
            api = client.get("/api/mobile/v1/me", headers={"Accept-Language": "pl"})
        with httpx.Client(base_url=stack.base_url, verify=tls, timeout=20,
                          cookies={"skarbiec_lang": "pl"}) as chose_polish:  # fmt: skip
            polish = chose_polish.get("/", headers={"Accept-Language": "en"})
    finally:
        stack.restart_instances()  # the other tests of this deployment, in whatever order
    assert page.status_code == 502 and '<html lang="en">' in page.text
    assert "temporarily unavailable" in page.text
    assert polish.status_code == 502 and '<html lang="pl">' in polish.text
    assert "Usługa chwilowo niedostępna" in polish.text
    assert api.status_code == 502 and api.json()["code"] == "service_unavailable"
    logged = Path(stack.root / "nginx-access.log").read_text().splitlines()
    assert len(logged) >= 3 and all("rid=" in line for line in logged)
