"""`skarbiec run`: serve the internet service, the mobile app and the back-office over HTTPS (R-X1).

Gunicorn serves the app with TLS 1.2 or newer; a separate small process answers the plain HTTP
port with redirects only; the SMS worker runs alongside when it exists. Both are started again
when they end (operations/companions.py).
"""

import os
import ssl
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from gunicorn.app.base import BaseApplication

from skarbiec.core.bounds import ascii_number
from skarbiec.operations.companions import Companion, CompanionKeeper
from skarbiec.operations.metrics import prepare_multiprocess_dir
from skarbiec.operations.tls import (
    TLS12_CIPHERS,
    ensure_local_certificate,
    load_certificate,
    spki_sha256,
)

LOCAL_BIND_HOSTS = {"0.0.0.0", "::", "[::]", "127.0.0.1", "::1", "[::1]", "localhost", ""}  # noqa: S104


def default_workers() -> int:
    return min(2 * (os.cpu_count() or 1) + 1, 4)


def tls12_or_newer(
    config: Any, default_ssl_context_factory: Callable[[], ssl.SSLContext]
) -> ssl.SSLContext:
    """Gunicorn's ssl_context hook: no TLS 1.0/1.1 (R-X1, PSD2 RTS); TLS 1.2 with AEAD cipher
    suites only (R-X9)."""
    context = default_ssl_context_factory()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    return context


class SkarbiecServer(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from skarbiec.wsgi import application

        return application


def split_bind(bind: str) -> tuple[str, int]:
    host, sep, port_text = bind.rpartition(":")
    port = ascii_number(port_text)
    if not sep or port is None or not 0 < port < 65536:
        raise CommandError(f"--bind must be HOST:PORT, got {bind!r}")
    return host, port


def gunicorn_settings(bind: str, workers: int) -> dict[str, Any]:
    """The gunicorn settings of every `skarbiec run`, TLS or behind a proxy."""
    return {
        "bind": bind,
        "workers": workers,
        # Threads keep a browser's idle keep-alive connections from pinning a whole worker;
        # gunicorn's own refusals (414, 431, 400) answered as JSON (operations/http_worker).
        "worker_class": "skarbiec.operations.http_worker.SkarbiecThreadWorker",
        "threads": 4,
        # No gunicorn access log: RequestLogMiddleware writes one JSON line per request.
        "errorlog": "-",
        "graceful_timeout": 10,
        "proc_name": "skarbiec",
        # Gunicorn's control socket sits at one path per user: several installations (or
        # test servers) on one machine would fight over it, and we do not use it.
        "control_socket_disable": True,
        # Which hop is a trusted proxy is Django's setting alone (SECURE_PROXY_SSL_HEADER,
        # core/http.client_ip): gunicorn would otherwise take the scheme, SCRIPT_NAME and
        # PATH_INFO from any local process's headers (R-X1).
        "forwarded_allow_ips": "",
        "secure_scheme_headers": {},
        # Above nginx's buffers (deploy/nginx: 8k per request or header line): what is too
        # long is refused by nginx, which knows a page from the API and answers each its way;
        # gunicorn's own refusal (JSON) is left for what reaches it directly.
        # (Header lines a little over 8k: nginx appends to X-Forwarded-For. The number of
        # headers stays bounded, so a request's headers stay under 2 MB.)
        "limit_request_line": 8190,
        "limit_request_field_size": 9000,
        "limit_request_fields": 200,
    }


class Command(BaseCommand):
    help = "Serve Skarbiec over HTTPS (TLS 1.2+); plain HTTP only redirects (R-X1)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default="0.0.0.0:8443", help="HTTPS address (HOST:PORT)")  # noqa: S104
        parser.add_argument(
            "--http-port",
            type=int,
            default=8080,
            help="plain HTTP port that only redirects to HTTPS; 0 turns it off",
        )
        parser.add_argument("--workers", type=int, default=default_workers())
        parser.add_argument("--cert", type=Path, help="PEM certificate (chain) to serve instead")
        parser.add_argument("--key", type=Path, help="PEM private key of --cert")
        parser.add_argument(
            "--no-tls",
            action="store_true",
            help="serve plain HTTP to a TLS-terminating proxy (needs SKARBIEC_BEHIND_PROXY=1)",
        )
        parser.add_argument(
            "--no-sms-worker", action="store_true", help="do not start the SMS worker"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = split_bind(options["bind"])
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        self._require_migrated()
        call_command("collectstatic", interactive=False, verbosity=0)

        shown_host = "localhost" if host in LOCAL_BIND_HOSTS else host
        gunicorn_options = gunicorn_settings(options["bind"], options["workers"])
        if options["no_tls"]:
            if not getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
                raise CommandError(
                    "--no-tls is only allowed behind a TLS proxy: set SKARBIEC_BEHIND_PROXY=1"
                )
            url = f"http://{shown_host}:{port}/"
            self.stdout.write(
                f"Skarbiec for a TLS proxy at {url} (public URL {settings.PUBLIC_URL})"
            )
        else:
            cert_path, key_path, ca_path, spki = self._certificate(options)
            gunicorn_options.update(
                certfile=str(cert_path), keyfile=str(key_path), ssl_context=tls12_or_newer
            )
            url = f"https://{shown_host}:{port}/"
            self.stdout.write(f"Skarbiec at {url}  (public URL {settings.PUBLIC_URL})")
            if ca_path:
                self.stdout.write(f"Local CA to trust in the browser: {ca_path}")
            self.stdout.write(f"Certificate SPKI sha256: {spki}")

        # Latency samples of every gunicorn worker of this instance, summed at /metrics (R-D4).
        prepare_multiprocess_dir(Path(settings.DATA_DIR) / "metrics" / f"{host or 'all'}-{port}")
        companions: list[Companion] = []
        if options["http_port"] and not options["no_tls"]:
            companions.append(self._redirect(host, options["http_port"], port))
            self.stdout.write(f"Plain HTTP on port {options['http_port']} redirects to HTTPS.")
        if not options["no_sms_worker"]:
            companions.extend(self._sms_worker())
        # Forked workers must not share a connection opened by the checks above.
        connections.close_all()
        keeper = CompanionKeeper(companions)
        try:
            keeper.start()
            self.stdout.flush()
            SkarbiecServer(gunicorn_options).run()
        finally:
            keeper.stop()

    def _require_migrated(self) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError("The database is not up to date: run `skarbiec migrate` first.")

    def _certificate(self, options: dict[str, Any]) -> tuple[Path, Path, Path | None, str]:
        cert, key = options["cert"], options["key"]
        if bool(cert) != bool(key):
            raise CommandError("--cert and --key go together.")
        if cert:
            try:
                ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
                leaf = load_certificate(cert)
            except (OSError, ValueError, ssl.SSLError) as exc:
                raise CommandError(f"Cannot use {cert} with {key}: {exc}")
            return cert, key, None, spki_sha256(leaf)
        local = ensure_local_certificate(Path(settings.DATA_DIR))
        return local.cert_path, local.key_path, local.ca_path, local.spki_sha256

    def _redirect(self, host: str, http_port: int, https_port: int) -> Companion:
        return Companion(
            "the plain HTTP redirect",
            [
                sys.executable,
                "-m",
                "skarbiec.operations.plain_http",
                "--host",
                host.strip("[]") or "0.0.0.0",  # noqa: S104
                "--port",
                str(http_port),
                "--https-port",
                str(https_port),
                "--allowed-hosts",
                ",".join(settings.ALLOWED_HOSTS),
                "--public-url",
                settings.PUBLIC_URL,
            ],
        )

    def _sms_worker(self) -> list[Companion]:
        # The SMS worker (R-O5), when the `worker` command is installed; started again if it
        # dies, as gunicorn's workers are.
        if "worker" not in get_commands():
            self.stdout.write("No SMS worker installed; SMS messages stay in the outbox.")
            return []
        self.stdout.write("SMS worker started (and started again if it ends).")
        return [Companion("the SMS worker", [sys.executable, "-m", "skarbiec", "worker"])]
