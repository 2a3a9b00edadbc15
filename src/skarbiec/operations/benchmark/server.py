"""The system under test of the benchmark: a fresh PostgreSQL database and `skarbiec run` on it
as a subprocess, with the rate limits lifted and the Argon2id parameters of this process (the
reference P3 is measured against)."""

import os
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections

from skarbiec.core.password_hashing import password_needs_rehash
from skarbiec.members.models import Member
from skarbiec.operations.tls import ensure_local_certificate

UNLIMITED = 1_000_000_000


@dataclass(frozen=True)
class BenchParameters:
    database: str
    members: int
    clients: int
    workers: int
    seconds: float
    sessions: int
    data_dir: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_params(name: str) -> dict[str, str]:
    s = connection.settings_dict
    return {
        "PGHOST": str(s.get("HOST") or "127.0.0.1"),
        "PGPORT": str(s.get("PORT") or "5432"),
        "PGUSER": str(s.get("USER") or ""),
        "PGPASSWORD": str(s.get("PASSWORD") or ""),
        "PGDATABASE": name,
    }


def _database_url(name: str) -> str:
    p = database_params(name)
    auth = p["PGUSER"] + (f":{p['PGPASSWORD']}" if p["PGPASSWORD"] else "")
    return f"postgres://{auth}@{p['PGHOST']}:{p['PGPORT']}/{name}"


def _admin_connection() -> psycopg.Connection[Any]:
    """An autocommit connection to the `postgres` database of the server of DATABASE_URL."""
    p = database_params("postgres")
    return psycopg.connect(
        host=p["PGHOST"],
        port=p["PGPORT"],
        user=p["PGUSER"],
        password=p["PGPASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


def drop_database(name: str) -> None:
    with _admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_database(name: str) -> None:
    """Drop and create `name` on the server of DATABASE_URL, point this process at it, migrate."""
    connections.close_all()
    drop_database(name)
    with _admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    connection.settings_dict["NAME"] = name
    call_command("migrate", verbosity=0)


# Rate limits out of the way (still counted: same work): all clients share one address and
# each member logs in many times a minute. The same values for this process and the server.
UNLIMITED_RATES_ENV = {
    "SKARBIEC_RATE_LIMIT_PER_ADDRESS": str(UNLIMITED),
    "SKARBIEC_RATE_LIMIT_PER_LOGIN": str(UNLIMITED),
    "SKARBIEC_OTP_SEND_LIMIT": str(UNLIMITED),
    "SKARBIEC_OTP_DAILY_SEND_LIMIT": str(UNLIMITED),
    "SKARBIEC_OTP_CODES_PER_OPERATION": str(UNLIMITED),
    "SKARBIEC_ORDER_RATE_LIMIT": str(UNLIMITED),
}


def unlimited_rates() -> dict[str, str]:
    """Lift the rate limits in this process; returns the environment that lifts the server's."""
    settings.RATE_LIMIT_PER_ADDRESS = (UNLIMITED, 60)
    settings.RATE_LIMIT_PER_LOGIN = (UNLIMITED, 60)
    settings.OTP_SEND_LIMIT = (UNLIMITED, 600)
    settings.OTP_DAILY_SEND_LIMIT = (UNLIMITED, 86400)
    settings.OTP_CODES_PER_OPERATION = UNLIMITED
    settings.ORDER_RATE_LIMIT = (UNLIMITED, 60)
    return dict(UNLIMITED_RATES_ENV)


def argon2_environment() -> dict[str, str]:
    """The server's environment drops this process's SKARBIEC_ variables; its Argon2id
    parameters are passed on, so P3 compares the same work (SPEC §11)."""
    return {
        "SKARBIEC_ARGON2_TIME_COST": str(settings.ARGON2_TIME_COST),
        "SKARBIEC_ARGON2_MEMORY_COST_KIB": str(settings.ARGON2_MEMORY_COST_KIB),
        "SKARBIEC_ARGON2_PARALLELISM": str(settings.ARGON2_PARALLELISM),
    }


def require_the_reference_argon2() -> None:
    """P3 compares the server's web step with this process's Argon2id verify. A server with
    other parameters would show after the web phase: a login it accepts rehashes the member's
    password with its own (channels/web/login.py)."""
    hashes = Member.objects.values_list("web_password_hash", flat=True)
    if any(password_needs_rehash(stored) for stored in hashes):
        raise RuntimeError(
            "The server hashed web passwords with other Argon2id parameters than the reference."
        )


class Server:
    """`skarbiec run` as a subprocess on a free port, HTTPS with the generated CA."""

    def __init__(self, params: BenchParameters, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.base_url = f"https://localhost:{self.port}"
        self.data_dir = params.data_dir
        self.ca_path = str(ensure_local_certificate(self.data_dir).ca_path)
        self.log_path = self.data_dir / "server.log"
        server_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SKARBIEC_")},
            **env,
            "DATABASE_URL": _database_url(params.database),
            "SKARBIEC_DATA_DIR": str(self.data_dir),
            "SKARBIEC_SECRET_KEY": settings.SECRET_KEY,
            "SKARBIEC_PUBLIC_URL": self.base_url,
            # The Argon2id of the server is the one the reference measures in this process.
            **argon2_environment(),
        }
        server_env.pop("DJANGO_SETTINGS_MODULE", None)
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "skarbiec",
                "run",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--http-port",
                "0",
                "--workers",
                str(params.workers),
            ],
            env=server_env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"skarbiec run ended:\n{self.log_path.read_text()[-3000:]}")
            try:
                r = httpx.get(f"{self.base_url}/healthz", verify=self.verify(), timeout=2)
                if r.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError("skarbiec run did not answer within 60 s")

    def verify(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_path)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
