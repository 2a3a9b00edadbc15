"""The plain HTTP port of `skarbiec run`: it only redirects to HTTPS, never serves the app (R-X1).

Runs as its own small process (`python -m skarbiec.operations.plain_http`) without Django, so a
request on port 80/8080 can never reach a view over an unencrypted connection.
"""

import argparse
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Only Django's host matching (same rules as ALLOWED_HOSTS); no settings are loaded.
from django.http.request import split_domain_port, validate_host


def redirect_target(
    host_header: str, path: str, https_port: int, allowed_hosts: list[str], public_url: str
) -> str:
    """Where a plain HTTP request goes: the same host on the HTTPS port when the host is one of
    ours, else the public URL (never a host an attacker put in the header)."""
    name, _port = split_domain_port(host_header.strip())
    if not path.startswith("/") or path.startswith("//"):
        path = "/"
    if name and validate_host(name, allowed_hosts):
        port = "" if https_port == 443 else f":{https_port}"
        return f"https://{name}{port}{path}"
    base = urlsplit(public_url)
    return f"https://{base.netloc}{path}"


def _handler(https_port: int, allowed_hosts: list[str], public_url: str) -> type:
    class RedirectToHttps(BaseHTTPRequestHandler):
        server_version = "skarbiec"
        sys_version = ""

        def _redirect(self) -> None:
            target = redirect_target(
                self.headers.get("Host", ""), self.path, https_port, allowed_hosts, public_url
            )
            self.send_response(301)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _redirect

        def log_message(self, format: str, *args: object) -> None:
            return  # the HTTPS server logs the requests that matter

    return RedirectToHttps


def _exit_with_parent(parent_pid: int) -> None:
    # The process is started by `skarbiec run`; when that dies, this one must not linger.
    while True:
        if os.getppid() != parent_pid:
            os._exit(0)
        time.sleep(1)


def serve_https_redirect(
    host: str, port: int, https_port: int, allowed_hosts: list[str], public_url: str
) -> None:
    server_class = ThreadingHTTPServer
    if ":" in host:

        class ServerV6(ThreadingHTTPServer):
            address_family = socket.AF_INET6

        server_class = ServerV6
    server = server_class((host, port), _handler(https_port, allowed_hosts, public_url))
    server.daemon_threads = True
    for signum in (signal.SIGTERM, signal.SIGINT):  # Ctrl+C reaches the whole process group
        signal.signal(signum, lambda *_: os._exit(0))
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Redirect plain HTTP to HTTPS.")
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--https-port", type=int, required=True)
    parser.add_argument("--allowed-hosts", default="localhost,127.0.0.1,[::1]")
    parser.add_argument("--public-url", default="https://localhost:8443")
    args = parser.parse_args(argv)
    hosts = [h.strip().lower() for h in args.allowed_hosts.split(",") if h.strip()]
    try:
        serve_https_redirect(args.host, args.port, args.https_port, hosts, args.public_url)
    except OSError as exc:
        sys.stderr.write(f"plain HTTP redirect on port {args.port}: {exc}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
