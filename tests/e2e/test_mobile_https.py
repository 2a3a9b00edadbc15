"""The mobile app over the HTTPS that `skarbiec run` serves, in chromium trusting the generated
leaf by its SPKI hash: a secure context whose service worker registers and caches only the
shell (R-M10, R-X1)."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from skarbiec.operations.tls import load_certificate, spki_sha256
from tests.core.test_run import Server, free_port, production_env, wait_for_port
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[Server]:
    env = production_env(tmp_path)
    port = free_port()
    env["SKARBIEC_PUBLIC_URL"] = f"https://localhost:{port}"
    skarbiec = [sys.executable, "-m", "skarbiec"]
    subprocess.run([*skarbiec, "migrate", "-v0"], env=env, check=True, timeout=120)
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                *skarbiec,
                "run",
                "--bind",
                f"127.0.0.1:{port}",
                "--http-port",
                "0",
                "--workers",
                "1",
                "--no-sms-worker",
            ],  # fmt: skip
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, port, 0, tmp_path, log)
    try:
        wait_for_port(server, port)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # the group this fixture started, only
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def test_r_m10_r_x1_app_is_a_secure_context_and_its_service_worker_registers(
    browser: Browser, https_server: Server
):
    leaf = load_certificate(https_server.data_dir / "tls" / "localhost.pem")
    trusting = browser.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={spki_sha256(leaf)}"],
    )
    try:
        page = trusting.new_page(locale="en-GB")
        page.set_default_timeout(15_000)
        origin = f"https://localhost:{https_server.https_port}"
        response = page.goto(f"{origin}/m/")
        assert response is not None and response.status == 200
        assert page.evaluate("window.isSecureContext") is True
        scope = page.evaluate("async () => (await navigator.serviceWorker.ready).scope", [])
        assert scope == f"{origin}/m/"
        page.get_by_role("heading", name="Activate the app").wait_for()
        cached = page.evaluate(
            """async () => {
                const names = await caches.keys();
                const urls = [];
                for (const name of names) {
                    for (const r of await (await caches.open(name)).keys()) urls.push(r.url);
                }
                return {names, urls};
            }"""
        )
        assert [n for n in cached["names"] if n.startswith("skarbiec-shell-")]
        paths = {url.removeprefix(origin) for url in cached["urls"]}
        assert {"/m/", "/static/mobileapp/app.js", "/static/mobileapp/icon-512.png"} <= paths
        assert not [p for p in paths if p.startswith("/api/")]
    finally:
        trusting.close()
