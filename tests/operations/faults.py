"""Shared parts of the fault tests: a real `skarbiec run` on PostgreSQL, members with logged-in
apps, and transfer clients that retry with their idempotency key until the order is answered."""

import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import httpx
from django.conf import settings
from django.db import connection

from skarbiec.operations.benchmark.population import PIN, BenchMember, device_client
from skarbiec.operations.benchmark.probes import gunicorn_workers
from skarbiec.operations.benchmark.server import UNLIMITED_RATES_ENV
from skarbiec.operations.tls import ensure_local_certificate
from tests.core.test_run import free_port

SKARBIEC = [sys.executable, "-m", "skarbiec"]


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def server_env(data_dir: Path, port: int) -> dict[str, str]:
    """A production environment on the test's database, with the test's secret key (token and
    challenge hashes must agree) and rate limits out of the way of the many retries."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKARBIEC_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(UNLIMITED_RATES_ENV)
    env.update(
        DATABASE_URL=database_url(),
        SKARBIEC_DATA_DIR=str(data_dir),
        SKARBIEC_SECRET_KEY=settings.SECRET_KEY,
        SKARBIEC_PUBLIC_URL=f"https://localhost:{port}",
        SKARBIEC_LOG_FORMAT="text",
    )
    return env


@dataclass
class RunningServer:
    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    # Beside server_env's: another database address, deployment switches.
    env_overrides: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"https://localhost:{self.port}"

    @property
    def tls(self) -> ssl.SSLContext:
        ca = ensure_local_certificate(self.data_dir).ca_path
        return ssl.create_default_context(cafile=str(ca))

    def start(self, workers: int = 2) -> None:
        self.tls  # noqa: B018 - the certificate exists before the server reads it
        with (self.data_dir / "run.log").open("ab") as log:
            self.process = self._popen(workers, log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.data_dir / "run.log").read_text()[-3000:]
            try:
                if httpx.get(f"{self.base_url}/healthz", verify=self.tls, timeout=2).is_success:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("skarbiec run did not start within 60 s")

    def _popen(self, workers: int, log: BinaryIO) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                *SKARBIEC,
                "run",
                *("--bind", f"127.0.0.1:{self.port}", "--http-port", "0"),
                *("--workers", str(workers)),
            ],
            env={**server_env(self.data_dir, self.port), **self.env_overrides},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def workers(self) -> list[int]:
        """The gunicorn workers (not the SMS worker beside them)."""
        assert self.process is not None
        return gunicorn_workers(self.process.pid)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def wait_port_free(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.3).close()
            except OSError:
                return
            time.sleep(0.2)


def logged_in_tokens(server: RunningServer, members: list[BenchMember]) -> list[str]:
    tokens = []
    for member in members:
        device = device_client(member, server.base_url, server.tls)
        device.login_pin(PIN)
        tokens.append(device.token)
        device.close()
    return tokens


@dataclass
class TransferOrder:
    member: BenchMember
    token: str
    key: str
    internal: bool


@dataclass
class Outcome:
    answered: dict[str, dict[str, object]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0
    refusals: list[str] = field(default_factory=list)
    bodies_503: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def done(self) -> int:
        with self.lock:
            return len(self.answered)


def send_until_answered(
    server: RunningServer, order: TransferOrder, outcome: Outcome, deadline: float
) -> None:
    """One order, retried with the same idempotency key after a lost connection or a 5xx,
    as the app does."""
    body = {
        "from_account_id": order.member.current_account_id,
        "payee_account": order.member.payee_number
        if order.internal
        else order.member.savings_account_number,
        "payee_name": "Sasiad" if order.internal else "",
        "title": "Fault test",
        "amount_minor": 1,
    }
    headers = {"Authorization": f"Bearer {order.token}", "Idempotency-Key": order.key}
    while time.monotonic() < deadline:
        try:
            with httpx.Client(verify=server.tls, timeout=10) as http:
                response = http.post(
                    f"{server.base_url}/api/mobile/v1/transfers", json=body, headers=headers
                )
        except httpx.TransportError:
            with outcome.lock:
                outcome.transport_errors += 1
            time.sleep(0.2)
            continue
        with outcome.lock:
            outcome.statuses[response.status_code] += 1
            if response.status_code == 503:
                outcome.bodies_503.append(
                    (response.headers.get("content-type", ""), response.text[:300])
                )
        if response.status_code >= 500:
            time.sleep(0.3)
            continue
        with outcome.lock:
            if response.status_code == 200:
                outcome.answered[order.key] = response.json()
            else:
                outcome.refusals.append(f"{response.status_code} {response.text[:200]}")
        return
