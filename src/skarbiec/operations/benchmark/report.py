"""The record of a benchmark run: benchmarks/results/<date>-<commit>.json and a Markdown table
with the machine, the versions and the parameters."""

import json
import os
import platform
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

from django.db import connection

from skarbiec.core import clock


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "nogit"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine() -> dict[str, Any]:
    with connection.cursor() as c:
        c.execute("SHOW server_version")
        pg = c.fetchone()[0]
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "django": version("django"),
        "gunicorn": version("gunicorn"),
        "postgresql": pg,
    }


def markdown(result: dict[str, Any]) -> str:
    f, p, m, ph = result["figures"], result["parameters"], result["machine"], result["phases"]
    lines = [
        f"Run {result['date']} at commit `{result['commit']}`: {m['cores']} cores ({m['cpu']}),"
        f" Python {m['python']}, Django {m['django']}, gunicorn {m['gunicorn']},"
        f" PostgreSQL {m['postgresql']}; {p['members']} members, {p['clients']} client"
        f" processes, `skarbiec run --workers {p['workers']}`, {p['seconds']:g} s per phase.",
        "",
        "| Figure | Measured | Goal | Met |",
        "|---|---|---|---|",
        f"| P1 PIN logins per server CPU-second | {f['P1']['value']:g}"
        f" ({f['P1']['per_second']:g}/s wall, p50 {f['P1']['p50_ms']:g} ms,"
        f" p99 {f['P1']['p99_ms']:g} ms) | ≥ 150 | {_yes(f['P1'])} |",
        f"| P2 transfers ÷ pgbench tpcb-like | {f['P2']['value']:g} (own"
        f" {ph['own_transfer']['per_second']:g}/s = {f['P2']['own_ratio']:g}, internal"
        f" {ph['internal_transfer']['per_second']:g}/s = {f['P2']['internal_ratio']:g},"
        f" pgbench {f['P2']['pgbench_tps']:g} tps) | ≥ 0.25 | {_yes(f['P2'])} |",
        f"| P3 web password steps ÷ Argon2id verifies (per CPU-second) | {f['P3']['value']:g}"
        f" ({ph['web_password']['per_server_cpu_second']:g} vs"
        f" {f['P3']['argon2_per_cpu_second']:g}; wall ratio {f['P3']['wall_ratio']:g})"
        f" | ≥ 0.8 | {_yes(f['P3'])} |",
        f"| P4 RSS per worker, MiB (at rest / after {p['sessions']} sessions) |"
        f" {max(f['P4']['at_rest_mib'], default=0):g} / "
        f"{max(f['P4']['after_sessions_mib'], default=0):g} | ≤ 150 | {_yes(f['P4'])} |",
        "",
        "| Phase | per s | per server CPU-s | server CPU ms | DB CPU ms | DB xacts | p50 ms |"
        " p99 ms | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, phase in ph.items():
        lines.append(
            f"| {name} | {phase['per_second']:g} | {phase['per_server_cpu_second']:g} |"
            f" {phase['server_cpu_ms_each']:g} | {phase['db_cpu_ms_each']:g} |"
            f" {phase['db_transactions_each']:g} | {phase['p50_ms']:g} | {phase['p99_ms']:g} |"
            f" {sum(phase['errors'].values())} |"
        )
    return "\n".join(lines) + "\n"


def _yes(figure: dict[str, Any]) -> str:
    return "yes" if figure["met"] else "**no**"


def write_results(result: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    result["date"] = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    result["commit"] = _commit()
    result["machine"] = machine()
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{clock.now():%Y%m%d-%H%M%S}-{result['commit']}"
    json_path = directory / f"{stem}.json"
    md_path = directory / f"{stem}.md"
    json_path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    md_path.write_text(markdown(result))
    return json_path, md_path
