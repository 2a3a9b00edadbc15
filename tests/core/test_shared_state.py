"""R-X3: state lives in the database only — two separate server processes serve one member.

A login started on one `skarbiec run` is finished on another, the session then works on both,
and failed passwords sent to different processes add up to one lockout.
"""

import os
import re
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.core.test_run import Server, free_port, production_env, wait_for_port

SKARBIEC = [sys.executable, "-m", "skarbiec"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("shared-state")
    env = production_env(path)
    subprocess.run([*SKARBIEC, "migrate", "-v0"], env=env, check=True, timeout=120)
    return path


@pytest.fixture(scope="module")
def logins(data_dir: Path) -> dict[str, str]:
    out = subprocess.run(
        [*SKARBIEC, "demo"], env=production_env(data_dir), check=True, capture_output=True,
        text=True, timeout=120,
    ).stdout  # fmt: skip
    return dict(re.findall(r"(Anna|Jan) \w+\s+Login (\d{10})", out))


def _start(data_dir: Path, name: str) -> Server:
    port = free_port()
    log = data_dir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*SKARBIEC, "run", "--bind", f"127.0.0.1:{port}", "--http-port", "0",
             "--workers", "1", "--no-sms-worker"],
            env=production_env(data_dir), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    server = Server(process, port, 0, data_dir, log)
    wait_for_port(server, port)
    return server


@pytest.fixture(scope="module")
def two_servers(data_dir: Path, logins: dict[str, str]) -> Iterator[tuple[Server, Server]]:
    first = _start(data_dir, "first")
    try:
        second = _start(data_dir, "second")
    except BaseException:
        os.killpg(first.process.pid, signal.SIGKILL)
        raise
    try:
        yield first, second
    finally:
        for server in (first, second):
            if server.process.poll() is None:
                os.killpg(server.process.pid, signal.SIGKILL)
                server.process.wait(timeout=10)


def _csrf(page: httpx.Response) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert match, page.text[:300]
    return match.group(1)


def _post(client: httpx.Client, server: Server, path: str, form: dict[str, str]) -> httpx.Response:
    base = f"https://localhost:{server.https_port}"
    token = _csrf(client.get(f"{base}{path if path != '/login/' else '/'}"))
    return client.post(
        f"{base}{path}",
        data={**form, "csrfmiddlewaretoken": token},
        headers={"Origin": base, "Referer": f"{base}/"},
    )


def _last_code(data_dir: Path) -> str:
    out = subprocess.run(
        [*SKARBIEC, "sms", "outbox", "--last", "1"], env=production_env(data_dir),
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    match = re.search(r"\b(\d{6})\b", out.split("]", 1)[-1])
    assert match, out
    return match.group(1)


def test_r_x3_login_started_on_one_process_finishes_on_another(
    two_servers: tuple[Server, Server], logins: dict[str, str], data_dir: Path
) -> None:
    first, second = two_servers
    verify = ssl.create_default_context(cafile=str(first.ca))
    with httpx.Client(verify=verify, timeout=20, cookies={"skarbiec_lang": "en"}) as client:
        step1 = _post(
            client, first, "/login/", {"login": logins["Anna"], "password": "Demo#Anna2024"}
        )
        assert step1.status_code == 302 and step1.headers["location"] == "/login/code/"
        # The same browser, its next request routed to the other process.
        step2 = _post(client, second, "/login/code/", {"code": _last_code(data_dir)})
        assert step2.status_code == 302, step2.text[:500]
        for server in (first, second):
            start = client.get(f"https://localhost:{server.https_port}/start/")
            assert start.status_code == 200
            assert "Anna" in start.text


def test_r_x3_failed_passwords_on_different_processes_add_up_to_one_lockout(
    two_servers: tuple[Server, Server], logins: dict[str, str]
) -> None:
    first, second = two_servers
    verify = ssl.create_default_context(cafile=str(first.ca))
    answers = []
    with httpx.Client(verify=verify, timeout=20, cookies={"skarbiec_lang": "en"}) as client:
        for server in (first, second, first):
            response = _post(
                client, server, "/login/", {"login": logins["Jan"], "password": "Wrong#pass1"}
            )
            answers.append(response.status_code)
        blocked = _post(
            client, second, "/login/", {"login": logins["Jan"], "password": "Demo#Jan2024"}
        )
    assert answers == [401, 401, 403]
    assert blocked.status_code == 403
    assert "801 803 800" in blocked.text
