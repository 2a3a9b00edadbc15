"""The benchmark's phases in order, and the figures P1–P4 of SPEC §11 with their ratios.

1. a fresh PostgreSQL database, migrated; N members prepared in this process (`population`);
2. `skarbiec run` (HTTPS, several workers) started on it as a subprocess;
3. phases, each driven by M client processes for T seconds, server CPU read from /proc:
   PIN logins (P1), own and internal transfers (P2), web password steps (P3);
4. pgbench tpcb-like with M clients on the same database (P2's reference), the raw Argon2id
   verify rate with the same parameters (P3's reference);
5. RSS per worker at rest and after 10,000 live sessions (P4), with the baseline phase (the
   cheapest authenticated call) run on those sessions.
"""

import logging
import multiprocessing
import os
import statistics
import threading
import time
from dataclasses import asdict
from typing import Any

from django.db import connection, connections

from skarbiec.audit.models import AuditEvent
from skarbiec.channels.mobile.sessions import open_session
from skarbiec.channels.models import MobileDevice
from skarbiec.core import clock
from skarbiec.operations.benchmark import probes
from skarbiec.operations.benchmark.load import ClientResult, PhaseSpec, run_client
from skarbiec.operations.benchmark.population import BenchMember, prepare_members
from skarbiec.operations.benchmark.server import (
    BenchParameters,
    Server,
    database_params,
    fresh_database,
    require_the_reference_argon2,
    unlimited_rates,
)
from skarbiec.otp.models import SmsMessage

GOALS = {"P1": 150.0, "P2": 0.25, "P3": 0.8, "P4": 150.0}


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _db_backends(database: str) -> list[int]:
    with connection.cursor() as c:
        c.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [database])
        return [row[0] for row in c.fetchall()]


def _db_transactions(database: str) -> int:
    with connection.cursor() as c:
        c.execute("SELECT pg_stat_force_next_flush()")
        c.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
            [database],
        )
        return int(c.fetchone()[0])


def wait_for_worker(timeout: float = 120.0) -> None:
    """Until the SMS worker has sent every message that is due and sealed every audit event:
    a phase is charged the deferred work it caused, and not the backlog of the one before (the
    preparation leaves hundreds of SMS codes and events)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        due = SmsMessage.objects.filter(
            state=SmsMessage.State.PENDING, next_attempt_at__lte=clock.now()
        ).exists()
        if not due and not AuditEvent.objects.filter(seq__isnull=True).exists():
            return
        time.sleep(0.2)
    raise RuntimeError(f"the SMS worker did not catch up within {timeout:.0f} s")


def run_phase(
    server: Server,
    params: BenchParameters,
    phase: str,
    members: list[BenchMember],
    tokens: list[str] | None = None,
    seconds: float | None = None,
) -> dict[str, Any]:
    """M client processes do `phase` for T seconds; server CPU from /proc over the phase."""
    seconds = params.seconds if seconds is None else seconds
    clients = min(params.clients, len(members))
    connections.close_all()  # forked clients must not share this process's connection
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(clients + 1)
    results: Any = ctx.Queue()
    processes = []
    for i in range(clients):
        spec = PhaseSpec(
            phase=phase,
            base_url=server.base_url,
            ca_path=server.ca_path,
            seconds=seconds,
            members=[m.as_dict() for m in members[i::clients]],
            tokens=(tokens or [])[i::clients],
        )
        process = ctx.Process(target=run_client, args=(spec, barrier, results))
        process.start()
        processes.append(process)
    meter = probes.CpuMeter(server.process.pid)
    transactions_begin = _db_transactions(params.database)
    try:
        barrier.wait(timeout=600)
    except threading.BrokenBarrierError:
        pass  # a client could not prepare: its failure comes with the results
    meter.start()
    db_begin = {pid: probes.cpu_seconds(pid) for pid in _db_backends(params.database)}
    collected: list[ClientResult] = [results.get(timeout=seconds + 600) for _ in processes]
    wall = time.monotonic() - meter.wall_begin
    wait_for_worker()
    server_cpu, _with_catch_up = meter.stop()
    db_cpu = sum(
        probes.cpu_seconds(pid) - db_begin.get(pid, 0.0) for pid in _db_backends(params.database)
    )
    transactions = _db_transactions(params.database) - transactions_begin
    for process in processes:
        process.join(timeout=30)
    failures = [r.failure for r in collected if r.failure]
    if failures:
        raise RuntimeError(f"a client of phase {phase} failed:\n{failures[0]}")
    done = sum(r.done for r in collected)
    errors: dict[str, int] = {}
    for r in collected:
        for code, n in r.errors.items():
            errors[code] = errors.get(code, 0) + n
    latencies = [x for r in collected for x in r.latencies_ms]
    return {
        "phase": phase,
        "clients": clients,
        "seconds": round(wall, 2),
        "done": done,
        "errors": errors,
        "per_second": round(done / seconds, 1),
        "server_cpu_seconds": round(server_cpu, 2),
        "per_server_cpu_second": round(done / server_cpu, 1) if server_cpu else 0.0,
        "server_cpu_ms_each": round(1000 * server_cpu / done, 2) if done else 0.0,
        "server_cpu_split_ms_each": {
            kind: round(1000 * used / done, 2) if done else 0.0
            for kind, used in meter.split.items()
        },
        "db_cpu_ms_each": round(1000 * db_cpu / done, 2) if done else 0.0,
        "db_transactions_each": round(transactions / done, 1) if done else 0.0,
        "p50_ms": round(_percentile(latencies, 0.50), 1),
        "p99_ms": round(_percentile(latencies, 0.99), 1),
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else 0.0,
    }


def worker_rss(server: Server) -> list[float]:
    return [round(probes.rss_mib(pid), 1) for pid in probes.gunicorn_workers(server.process.pid)]


def live_sessions(count: int, members: list[BenchMember]) -> list[str]:
    """`count` app sessions opened through the sessions service, spread over the members."""
    devices = list(
        MobileDevice.objects.select_related("member__credit_union").filter(
            device_id__in=[m.device_id for m in members]
        )
    )
    tokens = []
    for i in range(count):
        device = devices[i % len(devices)]
        tokens.append(open_session(device.member, device).token)
    return tokens


def _argon2_reference(params: BenchParameters) -> dict[str, float]:
    connections.close_all()  # forked processes must not share this process's connection
    return probes.argon2_verify_rate(os.cpu_count() or 1, min(params.seconds, 5.0))


def run_benchmark(params: BenchParameters, log: Any = print) -> dict[str, Any]:
    # The preparation's in-process requests and the clients' HTTP calls are not worth a line.
    for name in ("skarbiec.request", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)
    fresh_database(params.database)
    env = unlimited_rates()
    began = time.monotonic()
    members = prepare_members(params.members)
    log(f"prepared {len(members)} members in {time.monotonic() - began:.1f} s")
    params.data_dir.mkdir(parents=True, exist_ok=True)
    server = Server(params, env)
    phases: dict[str, Any] = {}
    argon2_runs: list[dict[str, float]] = []
    try:
        run_phase(server, params, "pin_login", members, seconds=min(3.0, params.seconds))
        rss_rest = worker_rss(server)
        for phase in ("pin_login", "own_transfer", "internal_transfer", "web_password"):
            if phase == "web_password":
                # P3's reference right before its phase as well as at the end: the host's
                # speed drifts over a run, and one 5-second sample far from the phase it is
                # compared with moved P3 by a tenth between runs of the same code.
                argon2_runs.append(_argon2_reference(params))
            phases[phase] = run_phase(server, params, phase, members)
            log(f"{phase}: {phases[phase]}")
        require_the_reference_argon2()
        began = time.monotonic()
        tokens = live_sessions(params.sessions, members)
        log(f"opened {len(tokens)} sessions in {time.monotonic() - began:.1f} s")
        phases["session_get"] = run_phase(server, params, "session_get", members, tokens)
        log(f"session_get: {phases['session_get']}")
        rss_sessions = worker_rss(server)
    finally:
        server.stop()
    pgbench = probes.pgbench(
        database_params(params.database), params.clients, max(int(params.seconds), 1)
    )
    log(f"pgbench: {pgbench}")
    argon2_runs.append(_argon2_reference(params))
    argon2 = probes.combined_rate(*argon2_runs)
    log(f"argon2: {argon2}")
    return summarise(params, phases, pgbench, argon2, rss_rest, rss_sessions)


def summarise(
    params: BenchParameters,
    phases: dict[str, Any],
    pgbench: dict[str, float],
    argon2: dict[str, Any],
    rss_rest: list[float],
    rss_sessions: list[float],
) -> dict[str, Any]:
    pin, own, internal, web = (
        phases["pin_login"],
        phases["own_transfer"],
        phases["internal_transfer"],
        phases["web_password"],
    )
    tps = pgbench["tps"] or 1.0
    p2 = min(own["per_second"], internal["per_second"]) / tps
    p3 = web["per_server_cpu_second"] / argon2["per_cpu_second"] if argon2["per_cpu_second"] else 0
    p4 = max(rss_rest + rss_sessions) if rss_rest + rss_sessions else 0.0
    figures = {
        "P1": {
            "value": pin["per_server_cpu_second"],
            "goal": GOALS["P1"],
            "met": pin["per_server_cpu_second"] >= GOALS["P1"],
            "what": "PIN logins per server CPU-second",
            "per_second": pin["per_second"],
            "p50_ms": pin["p50_ms"],
            "p99_ms": pin["p99_ms"],
        },
        "P2": {
            "value": round(p2, 3),
            "goal": GOALS["P2"],
            "met": p2 >= GOALS["P2"],
            "what": "transfers/s through the API ÷ pgbench tpcb-like tps (lower of own, internal)",
            "own_ratio": round(own["per_second"] / tps, 3),
            "internal_ratio": round(internal["per_second"] / tps, 3),
            "pgbench_tps": pgbench["tps"],
        },
        "P3": {
            "value": round(p3, 3),
            "goal": GOALS["P3"],
            "met": p3 >= GOALS["P3"],
            "what": "web password steps per server CPU-second ÷ Argon2id verifies per CPU-second",
            "argon2_per_cpu_second": round(argon2["per_cpu_second"], 1),
            "wall_ratio": round(web["per_second"] / argon2["per_second"], 3)
            if argon2["per_second"]
            else 0.0,
        },
        "P4": {
            "value": p4,
            "goal": GOALS["P4"],
            "met": p4 <= GOALS["P4"],
            "what": "largest RSS of a worker, MiB",
            "at_rest_mib": rss_rest,
            "after_sessions_mib": rss_sessions,
        },
    }
    return {
        "parameters": {**asdict(params), "data_dir": str(params.data_dir)},
        "figures": figures,
        "phases": phases,
        "pgbench": pgbench,
        "argon2": argon2,
    }
