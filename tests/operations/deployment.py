"""The production layout of deploy/ started for real by a test (R-D1): Debian's nginx with the
site from deploy/nginx, `skarbiec run` instances and the SMS worker as the systemd units in
deploy/systemd start them, the environment from deploy/skarbiec.env, PostgreSQL.

The files are used as shipped. What changes is only what differs between a server and a test
machine: paths, port numbers, the host name, the user nginx runs as, secrets marked CHANGE, and
the SMS gateway (the provider lies outside the system: messages stay in the outbox). Each
substitution must hit, so a change to deploy/ that the test would silently miss fails here.
"""

import json
import os
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import psycopg
import pytest

from skarbiec.operations.tls import ensure_local_certificate
from tests.core.test_run import free_port

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
SKARBIEC = [sys.executable, "-m", "skarbiec"]
INSTALLED_SKARBIEC = "/opt/skarbiec/venv/bin/skarbiec"
METRICS_TOKEN = "metrics-token-for-the-deploy-test"
STARTUP_SECONDS = 30
# The units' UMask=0077 (deploy/systemd), also used for skarbiec-admin's commands.
SERVICE_UMASK = 0o077


def substitute(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert old in text, f"{old!r} no longer appears in the deploy file"
        text = text.replace(old, new)
    return text


def environment_file(values: dict[str, str]) -> dict[str, str]:
    """deploy/skarbiec.env read as systemd reads it, with this test's values filled in."""
    env: dict[str, str] = {}
    for line in (DEPLOY / "skarbiec.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    unknown = set(values) - set(env)
    assert not unknown, f"not in deploy/skarbiec.env: {unknown}"
    env.update(values)
    unfilled = [key for key, value in env.items() if "CHANGE" in value]
    assert not unfilled, f"values marked CHANGE the test does not fill: {unfilled}"
    return env


def exec_start(unit: str, instance: str = "") -> list[str]:
    """The ExecStart command line of a unit in deploy/systemd, run from this checkout."""
    lines = [
        line.split("=", 1)[1]
        for line in (DEPLOY / "systemd" / unit).read_text().splitlines()
        if line.startswith("ExecStart=")
    ]
    assert len(lines) == 1
    argv = shlex.split(lines[0].replace("%i", instance))
    assert argv[0] == INSTALLED_SKARBIEC
    return [*SKARBIEC, *argv[1:]]


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args} exited early:\n{log.read_text(errors='replace')}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"port {port} not open after {STARTUP_SECONDS}s:\n{log.read_text()}")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)

    def request_lines(self) -> list[dict]:
        lines = []
        for raw in self.log.read_text(errors="replace").splitlines():
            if raw.startswith("{"):
                entry = json.loads(raw)
                if entry.get("logger") == "skarbiec.request":
                    lines.append(entry)
        return lines


@dataclass
class Deployment:
    root: Path
    database: str
    database_url: str
    env: dict[str, str]
    https_port: int
    http_port: int
    app_ports: list[int]
    ca: Path
    instances: list[Process] = field(default_factory=list)
    worker: Process | None = None
    nginx: Process | None = None
    data_dir: Path | None = None

    @property
    def base_url(self) -> str:
        return f"https://localhost:{self.https_port}"

    def run(self, *args: str) -> str:
        # skarbiec-admin from a hardened root shell: the strictest umask an installation has.
        return subprocess.run(
            [*SKARBIEC, *args], env=self.env, check=True, capture_output=True, text=True,
            timeout=180, umask=SERVICE_UMASK,
        ).stdout  # fmt: skip

    def start(self, name: str, argv: list[str], port: int | None = None) -> Process:
        log = self.root / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                umask=SERVICE_UMASK,
            )  # fmt: skip
        process = Process(name, popen, log)
        if port:
            wait_for_port(port, popen, log)
        return process

    def served_by(self, request_id: str) -> str:
        """Which instance answered a request, from the instances' own JSON logs."""
        found = [
            p.name
            for p in self.instances
            if any(e.get("request_id") == request_id for e in p.request_lines())
        ]
        assert len(found) <= 1, found
        return found[0] if found else "nginx"

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.database_url.replace("postgres://", "postgresql://")) as c:
            cursor = c.execute(query, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def start_instances(self) -> None:
        """The app's instances (deploy/systemd/skarbiec@.service); back once each listens."""
        self.instances = []  # filled one by one: a failed start still stops the earlier ones
        for i, port in enumerate(self.app_ports, start=1):
            argv = exec_start("skarbiec@.service", str(port))
            self.instances.append(self.start(f"instance{i}", argv))
        for process, port in zip(self.instances, self.app_ports, strict=True):
            wait_for_port(port, process.popen, process.log)

    def start_worker(self) -> None:
        """The SMS worker (deploy/systemd/skarbiec-worker.service); back once it has beaten, so
        a test that asks /readyz first does not race its start (R-D2)."""
        (since,) = self.sql("SELECT now()")[0]
        self.worker = self.start("worker", exec_start("skarbiec-worker.service"))
        wait_for_heartbeat(self, self.worker, since)

    def restart_instances(self) -> None:
        """The instances started again after a test stopped them, back in nginx's rotation."""
        self.start_instances()
        # nginx rests an upstream that failed (fail_timeout in deploy/nginx): wait until it
        # sends members to the instances again.
        tls = ssl.create_default_context(cafile=str(self.ca))
        deadline = time.monotonic() + STARTUP_SECONDS
        answered = 0
        while answered < len(self.instances):
            assert time.monotonic() < deadline, "nginx did not take the instances back"
            status = httpx.get(self.base_url + "/", verify=tls, timeout=10).status_code
            answered = answered + 1 if status == 200 else 0
            time.sleep(0.2)

    def stop(self) -> None:
        for process in [self.nginx, self.worker, *self.instances]:
            if process is not None:
                process.stop()
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def admin_connection(database_url: str) -> psycopg.Connection:
    """A connection to the server's maintenance database, for CREATE/DROP/ALTER DATABASE."""
    base = database_url.split("?")[0].rpartition("/")[0]
    return psycopg.connect(f"{base}/postgres".replace("postgres://", "postgresql://"),
                           autocommit=True)  # fmt: skip


def nginx_main_config(root: Path, site: Path) -> Path:
    """Debian's own /etc/nginx/nginx.conf, pointed at this test's site, pid and log files."""
    debian = Path("/etc/nginx/nginx.conf").read_text()
    text = substitute(
        debian,
        {
            "/run/nginx.pid": str(root / "nginx.pid"),
            "/var/log/nginx/error.log": str(root / "nginx-error.log"),
            "/var/log/nginx/access.log": str(root / "nginx-default-access.log"),
            "/etc/nginx/sites-enabled/*": str(site),
        },
    )
    path = root / "nginx.conf"
    path.write_text(text)
    return path


def nginx_site(deployment: Deployment, data_dir: Path, cert: Path, key: Path) -> Path:
    first, second = deployment.app_ports
    text = substitute(
        (DEPLOY / "nginx" / "skarbiec.conf").read_text(),
        {
            "listen 443 ssl http2;": f"listen 127.0.0.1:{deployment.https_port} ssl http2;",
            "listen [::]:443 ssl http2;": f"listen [::1]:{deployment.https_port} ssl http2;",
            "listen 80;": f"listen 127.0.0.1:{deployment.http_port};",
            "listen [::]:80;": f"listen [::1]:{deployment.http_port};",
            "server 127.0.0.1:8001 ": f"server 127.0.0.1:{first} ",
            "server 127.0.0.1:8002 ": f"server 127.0.0.1:{second} ",
            "bank.example.pl": "localhost",
            "/etc/ssl/skarbiec/fullchain.pem": str(cert),
            "/etc/ssl/skarbiec/privkey.pem": str(key),
            "/var/lib/skarbiec/": f"{data_dir}/",
            "/var/log/nginx/skarbiec-access.log": str(deployment.root / "nginx-access.log"),
        },
    )
    path = deployment.root / "skarbiec-site.conf"
    path.write_text(text)
    return path


def deploy(root: Path, postgres_url: str) -> Deployment:
    """An empty server to members logging in, in the order docs/deploy.md gives the steps."""
    nginx = "/usr/sbin/nginx"
    if not os.access(nginx, os.X_OK):
        pytest.fail("Debian's nginx is missing: `make test` installs it (apt-get install nginx)")
    base, _, base_name = postgres_url.rpartition("/")
    # One database per pytest-xdist worker: parallel workers each deploy their own.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    name = f"{base_name.split('?')[0]}_deploy{('_' + worker) if worker else ''}"
    database_url = f"{base}/{name}"
    with admin_connection(postgres_url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')

    # As docs/deploy.md creates it (install -d -m 711), where nginx's own user (Debian's
    # www-data, as in production) can reach it: pytest's directories are root's only.
    data_dir = Path(tempfile.mkdtemp(prefix="skarbiec-deploy-"))
    data_dir.chmod(0o711)
    https_port, http_port = free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"} and not k.startswith("SKARBIEC_")
    }
    env.update(
        environment_file(
            {
                "DATABASE_URL": database_url,
                "SKARBIEC_SECRET_KEY": "deploy-test-secret-key-" + "x" * 40,
                "SKARBIEC_DATA_DIR": str(data_dir),
                "SKARBIEC_PUBLIC_URL": f"https://localhost:{https_port}",
                "SKARBIEC_ALLOWED_HOSTS": "localhost",
                "SKARBIEC_SMS_GATEWAY": "outbox",
                "SKARBIEC_SMSAPI_TOKEN": "",
                "SKARBIEC_SMSAPI_SENDER": "",
                "SKARBIEC_METRICS_TOKEN": METRICS_TOKEN,
            }
        )
    )
    deployment = Deployment(
        root, name, database_url, env, https_port, http_port, [free_port(), free_port()],
        ca=root / "tls" / "ca.pem", data_dir=data_dir,
    )  # fmt: skip
    # The certificate: a real installation has one from its CA; here one for localhost.
    tls = ensure_local_certificate(root)
    deployment.run("migrate", "-v0")
    deployment.run("collectstatic", "--noinput", "-v0")
    deployment.run("errorpages")
    deployment.run("demo")
    try:
        deployment.start_instances()
        deployment.start_worker()
        site = nginx_site(deployment, data_dir, tls.cert_path, tls.key_path)
        main = nginx_main_config(root, site)
        check = subprocess.run([nginx, "-t", "-c", str(main), "-e", str(root / "nginx-error.log")],
                               capture_output=True, text=True)  # fmt: skip
        assert check.returncode == 0, check.stderr
        deployment.nginx = deployment.start(
            "nginx",
            [nginx, "-c", str(main), "-e", str(root / "nginx-error.log"), "-g", "daemon off;"],
            https_port,
        )
    except BaseException:
        deployment.stop()
        raise
    return deployment


def wait_for_heartbeat(deployment: Deployment, worker: Process, since: datetime) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    query = "SELECT 1 FROM operations_heartbeat WHERE name = 'sms-worker' AND beat_at > %s"
    while time.monotonic() < deadline:
        if worker.popen.poll() is not None:
            pytest.fail(f"the worker exited early:\n{worker.log.read_text(errors='replace')}")
        if deployment.sql(query, (since,)):
            return
        time.sleep(0.1)
    pytest.fail(f"no worker heartbeat after {STARTUP_SECONDS}s:\n{worker.log.read_text()}")


def drop_database(deployment: Deployment, postgres_url: str) -> None:
    with admin_connection(postgres_url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{deployment.database}" WITH (FORCE)')
