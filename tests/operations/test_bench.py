"""`skarbiec bench` (SPEC §11) in a smoke run of a few seconds: every phase runs against a real
`skarbiec run` on PostgreSQL and the results are written. The figures themselves are not
asserted (a benchmark, not a timed test)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from skarbiec.operations.benchmark.server import drop_database

pytestmark = pytest.mark.django_db(transaction=True)


def test_p1_p4_bench_smoke_run_writes_every_figure(tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the benchmark runs on PostgreSQL only")
    database = f"{connection.settings_dict['NAME']}_bench_smoke"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKARBIEC_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["SKARBIEC_DATA_DIR"] = str(tmp_path / "data")
    env["SKARBIEC_LOG_FORMAT"] = "text"
    # Not the defaults: the server must hash with the parameters the reference measures (P3);
    # the bench stops if a login rehashed a password with other ones.
    env["SKARBIEC_ARGON2_TIME_COST"] = "1"
    env["SKARBIEC_ARGON2_MEMORY_COST_KIB"] = "8192"
    try:
        done = subprocess.run(
            [
                *(sys.executable, "-m", "skarbiec", "bench"),
                *("--database", database, "--members", "3", "--clients", "2"),
                *("--seconds", "1", "--sessions", "30", "--workers", "2"),
                *("--results", str(tmp_path / "results")),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
    finally:
        drop_database(database)
    assert done.returncode == 0, done.stderr[-4000:]
    [json_path] = (tmp_path / "results").glob("*.json")
    [md_path] = (tmp_path / "results").glob("*.md")
    result = json.loads(json_path.read_text())
    assert set(result["figures"]) == {"P1", "P2", "P3", "P4"}
    for name in ("pin_login", "own_transfer", "internal_transfer", "web_password"):
        phase = result["phases"][name]
        assert phase["done"] > 0, phase
        assert not phase["errors"], phase
    assert result["phases"]["session_get"]["done"] > 0
    assert result["pgbench"]["tps"] > 0
    assert result["argon2"]["per_cpu_second"] > 0
    assert len(result["argon2"]["runs"]) == 2  # right before the web phase, and at the end
    assert all(mib > 0 for mib in result["figures"]["P4"]["after_sessions_mib"])
    assert "P1 PIN logins per server CPU-second" in md_path.read_text()
    assert "P1 PIN logins per server CPU-second" in done.stdout


def test_p3_reference_runs_are_taken_together_by_their_counts_and_cpu() -> None:
    from skarbiec.operations.benchmark.probes import combined_rate

    slow = {"verifies": 100, "per_second": 20.0, "per_cpu_second": 10.0}  # 5 s, 10 CPU-s
    fast = {"verifies": 300, "per_second": 60.0, "per_cpu_second": 30.0}  # 5 s, 10 CPU-s
    both = combined_rate(slow, fast)
    assert both["verifies"] == 400
    assert both["per_second"] == 40.0 and both["per_cpu_second"] == 20.0
    assert both["cpu_ms_per_verify"] == 50.0 and both["runs"] == [10.0, 30.0]
