"""Measurements outside the HTTP path: CPU and memory of the server's processes from /proc, the
raw Argon2id verify rate, and pgbench on the same PostgreSQL."""

import multiprocessing
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (gunicorn master, workers, SMS worker, redirector)."""
    found = [pid]
    todo = [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.append(child)
                    todo.append(child)
    return found


def stat_fields(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (state, parent, …), or none if the
    process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (not its waited-for children)."""
    fields = stat_fields(pid)
    if not fields:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class CpuMeter:
    """CPU of a process tree between `start()` and `stop()`; processes are remembered by pid so
    one that ends during the phase still counts what it used until its last reading."""

    root: int

    def start(self) -> None:
        self.begin = {pid: cpu_seconds(pid) for pid in process_tree(self.root)}
        self.wall_begin = time.monotonic()

    def stop(self) -> tuple[float, float]:
        """(server CPU seconds, wall seconds) since start(); `split` then holds the CPU seconds
        of each kind of process (the request workers, the SMS worker, the rest)."""
        wall = time.monotonic() - self.wall_begin
        total = 0.0
        workers = set(gunicorn_workers(self.root))
        self.split = {"request_workers": 0.0, "sms_worker": 0.0, "other": 0.0}
        for pid in process_tree(self.root):
            used = cpu_seconds(pid) - self.begin.get(pid, 0.0)
            total += used
            self.split[_kind(pid, workers)] += used
        return total, wall


def _kind(pid: int, workers: set[int]) -> str:
    if pid in workers:
        return "request_workers"
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "other"
    return "sms_worker" if "skarbiec worker" in cmdline else "other"


def rss_mib(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else 0.0


def gunicorn_workers(master: int) -> list[int]:
    """Direct children of the run process that are gunicorn workers (not the helpers)."""
    workers = []
    for pid in process_tree(master)[1:]:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            parent = int(stat_fields(pid)[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == master and "skarbiec.operations.plain_http" not in cmdline:
            if "skarbiec worker" not in cmdline:
                workers.append(pid)
    return workers


def _verify_loop(seconds: float) -> tuple[int, float]:
    """Argon2id computations with the installation's parameters: the work of one password
    verify (which derives the same hash from the stored salt and compares; comparing itself is
    left to core.attempts)."""
    from argon2.low_level import Type, hash_secret_raw
    from django.conf import settings

    salt = os.urandom(16)
    count = 0
    cpu_begin = time.process_time()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        hash_secret_raw(
            b"Bench#Web2024pl",
            salt,
            time_cost=settings.ARGON2_TIME_COST,
            memory_cost=settings.ARGON2_MEMORY_COST_KIB,
            parallelism=settings.ARGON2_PARALLELISM,
            hash_len=32,
            type=Type.ID,
        )
        count += 1
    return count, time.process_time() - cpu_begin


def argon2_verify_rate(processes: int, seconds: float) -> dict[str, float]:
    """Verifies per second (all processes) and per CPU-second, parameters of the settings."""
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        results = pool.map(_verify_loop, [seconds] * processes)
    count = sum(r[0] for r in results)
    cpu = sum(r[1] for r in results)
    return {
        "verifies": count,
        "per_second": count / seconds,
        "per_cpu_second": count / cpu if cpu else 0.0,
        "cpu_ms_per_verify": 1000 * cpu / count if count else 0.0,
    }


def combined_rate(*runs: dict[str, float]) -> dict[str, Any]:
    """The Argon2id rates of several runs taken together (all verifies over all seconds and all
    CPU), each run kept under "runs"."""
    verifies = sum(r["verifies"] for r in runs)
    seconds = sum(r["verifies"] / r["per_second"] for r in runs if r["per_second"])
    cpu = sum(r["verifies"] / r["per_cpu_second"] for r in runs if r["per_cpu_second"])
    return {
        "verifies": verifies,
        "per_second": verifies / seconds if seconds else 0.0,
        "per_cpu_second": verifies / cpu if cpu else 0.0,
        "cpu_ms_per_verify": 1000 * cpu / verifies if verifies else 0.0,
        "runs": [round(r["per_cpu_second"], 1) for r in runs],
    }


def pgbench(url_params: dict[str, str], clients: int, seconds: int) -> dict[str, float]:
    """`pgbench -b tpcb-like` with `clients` clients against the benchmark's database."""
    binary = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    env = {**os.environ, **{k: v for k, v in url_params.items() if v}}
    subprocess.run(
        [binary, "-i", "-q", "-s", "1"], env=env, check=True, capture_output=True, timeout=300
    )
    done = subprocess.run(
        [binary, "-b", "tpcb-like", "-c", str(clients), "-j", "2", "-T", str(seconds), "-n"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    found = re.search(r"tps = ([\d.]+)", done.stdout)
    if found is None:
        raise RuntimeError(f"pgbench printed no tps:\n{done.stdout}\n{done.stderr}")
    return {"tps": float(found.group(1)), "clients": clients, "seconds": seconds}
