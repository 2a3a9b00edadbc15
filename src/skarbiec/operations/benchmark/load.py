"""What one client process does in a phase of the benchmark. Clients speak HTTPS to the server
like phones (the device protocol of `skarbiec.client`) and browsers (the web login form); they
never touch the database. Each client prepares, waits at the barrier (the runner starts the CPU
meter there), works for the phase's seconds and reports counts and latencies."""

import logging
import re
import secrets
import ssl
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from skarbiec.client import ApiError, DeviceClient
from skarbiec.operations.benchmark.population import (
    PIN,
    WEB_PASSWORD,
    BenchMember,
    device_client,
)

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class PhaseSpec:
    phase: str  # pin_login | own_transfer | internal_transfer | web_password | session_get
    base_url: str
    ca_path: str
    seconds: float
    members: list[dict[str, Any]]
    tokens: list[str] = field(default_factory=list)


@dataclass
class ClientResult:
    done: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    failure: str = ""


def _verify(ca_path: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_path)


def _devices(spec: PhaseSpec) -> list[tuple[BenchMember, DeviceClient]]:
    """The client's phones share one keep-alive connection, as they would share a load
    balancer's connection to the app: TLS handshakes are the terminating proxy's work (R-D1),
    and a connection per phone would also be closed between its turns (keep-alive 2 s)."""
    verify = _verify(spec.ca_path)
    pairs = []
    shared: httpx.Client | None = None
    for data in spec.members:
        member = BenchMember(**data)
        device = device_client(member, spec.base_url, verify)
        if shared is None:
            shared = device.http
        else:
            device.http.close()
            device.http = shared
        pairs.append((member, device))
    return pairs


def _pin_login(spec: PhaseSpec) -> Callable[[], None]:
    pairs = _devices(spec)
    index = 0

    def step() -> None:
        nonlocal index
        _member, device = pairs[index % len(pairs)]
        index += 1
        device.login_pin(PIN)

    return step


def _transfer(spec: PhaseSpec, internal: bool) -> Callable[[], None]:
    pairs = _devices(spec)
    for _member, device in pairs:
        device.login_pin(PIN)
    index = 0

    def step() -> None:
        nonlocal index
        member, device = pairs[index % len(pairs)]
        index += 1
        order = device.create_transfer(
            member.current_account_id,
            member.payee_number if internal else member.savings_account_number,
            "Benchmark",
            1,
            payee_name="Sasiad" if internal else "",
            idempotency_key=secrets.token_urlsafe(18),
        )
        if order.get("state") != "booked":
            raise ApiError(200, {"code": f"state_{order.get('state')}"})

    return step


def _web_password(spec: PhaseSpec) -> Callable[[], None]:
    http = httpx.Client(base_url=spec.base_url, verify=_verify(spec.ca_path), timeout=30)
    page = http.get("/")
    found = CSRF_RE.search(page.text)
    if found is None:
        raise RuntimeError(f"no CSRF token on the landing page ({page.status_code})")
    token = found.group(1)
    logins = [m["login"] for m in spec.members]
    headers = {"Origin": spec.base_url, "Referer": spec.base_url + "/"}
    index = 0

    def step() -> None:
        nonlocal index
        login = logins[index % len(logins)]
        index += 1
        data = {"login": login, "password": WEB_PASSWORD, "csrfmiddlewaretoken": token}
        response = http.post("/login/", data=data, headers=headers)
        if response.status_code != 302 or "/login/code/" not in response.headers["location"]:
            raise ApiError(response.status_code, {"code": f"web_{response.status_code}"})

    return step


def _session_get(spec: PhaseSpec) -> Callable[[], None]:
    http = httpx.Client(
        base_url=spec.base_url + "/api/mobile/v1", verify=_verify(spec.ca_path), timeout=30
    )
    index = 0

    def step() -> None:
        nonlocal index
        token = spec.tokens[index % len(spec.tokens)]
        index += 1
        response = http.get("/session", headers={"Authorization": f"Bearer {token}"})
        if response.status_code != 200:
            raise ApiError(response.status_code, {"code": f"get_{response.status_code}"})

    return step


PHASES: dict[str, Callable[[PhaseSpec], Callable[[], None]]] = {
    "pin_login": _pin_login,
    "own_transfer": lambda spec: _transfer(spec, internal=False),
    "internal_transfer": lambda spec: _transfer(spec, internal=True),
    "web_password": _web_password,
    "session_get": _session_get,
}


def run_client(spec: PhaseSpec, barrier: Any, results: Any) -> None:
    """Body of one client process: prepare, meet the others at the barrier, work, report."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # no line per request
    result = ClientResult()
    try:
        step = PHASES[spec.phase](spec)
    except Exception:  # noqa: BLE001 - reported to the runner, which fails the run
        result.failure = traceback.format_exc()
        barrier.abort()
        results.put(result)
        return
    barrier.wait()
    deadline = time.monotonic() + spec.seconds
    while time.monotonic() < deadline:
        began = time.perf_counter()
        try:
            step()
        except ApiError as e:
            result.errors[e.code] = result.errors.get(e.code, 0) + 1
            continue
        except httpx.HTTPError as e:
            name = type(e).__name__
            result.errors[name] = result.errors.get(name, 0) + 1
            continue
        result.latencies_ms.append(1000 * (time.perf_counter() - began))
        result.done += 1
    results.put(result)
