"""`skarbiec run` as a real process: HTTPS with the generated CA, TLS 1.2+ with AEAD suites only,
HSTS, plain HTTP only redirects, files with member data private, and every process it started
ends with it (R-X1, R-X2, R-X9)."""

import json
import os
import signal
import socket
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from skarbiec.operations.benchmark.probes import process_tree, stat_fields

STARTUP_SECONDS = 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def production_env(data_dir: Path) -> dict[str, str]:
    """The environment of a real installation: production settings, SQLite in `data_dir`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"} and not k.startswith("SKARBIEC_")
    }
    env["SKARBIEC_DATA_DIR"] = str(data_dir)
    return env


def alive(pid: int) -> bool:
    fields = stat_fields(pid)
    return bool(fields) and fields[0] != "Z"


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    https_port: int
    http_port: int
    data_dir: Path
    log: Path

    @property
    def ca(self) -> Path:
        return self.data_dir / "tls" / "ca.pem"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_for_port(server: Server, port: int) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"skarbiec run exited early:\n{server.output()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"port {port} not open after {STARTUP_SECONDS}s:\n{server.output()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("run-data")
    env = production_env(data_dir)
    skarbiec = [sys.executable, "-m", "skarbiec"]
    # The most careless umask (some containers and shells): private files must not depend on it
    # (R-X9).
    subprocess.run([*skarbiec, "migrate", "-v0"], env=env, check=True, timeout=120, umask=0)
    # Left by an earlier version started with that umask: the server must close it.
    (data_dir / "tls").mkdir()
    (data_dir / "tls").chmod(0o777)
    https_port, http_port = free_port(), free_port()
    log = data_dir / "run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                *skarbiec,
                "run",
                "--bind",
                f"127.0.0.1:{https_port}",
                "--http-port",
                str(http_port),
                "--workers",
                "1",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            umask=0,
        )
    handle = Server(process, https_port, http_port, data_dir, log)
    try:
        wait_for_port(handle, https_port)
        wait_for_port(handle, http_port)
        yield handle
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # only the group this fixture started
            process.wait(timeout=10)


def test_r_x1_https_verified_with_generated_ca_and_hsts_sent(server: Server) -> None:
    context = ssl.create_default_context(cafile=str(server.ca))
    for host in ("localhost", "127.0.0.1"):
        response = httpx.get(f"https://{host}:{server.https_port}/", verify=context, timeout=10)
        assert response.status_code < 500
        assert response.headers["strict-transport-security"].startswith("max-age=31536000")
        assert response.http_version == "HTTP/1.1"


def test_r_x1_startup_prints_url_ca_and_spki_hash(server: Server) -> None:
    from skarbiec.operations.tls import load_certificate, spki_sha256

    out = server.output()
    assert f"https://localhost:{server.https_port}/" in out
    assert str(server.ca) in out
    leaf = load_certificate(server.data_dir / "tls" / "localhost.pem")
    assert spki_sha256(leaf) in out


def test_r_x1_untrusted_client_refuses_generated_certificate(server: Server) -> None:
    # Without the CA the certificate is not trusted: proves the server presents the generated one.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"https://localhost:{server.https_port}/", verify=True, timeout=10)


def _handshake(server: Server, maximum: ssl.TLSVersion) -> str:
    context = ssl.create_default_context(cafile=str(server.ca))
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.maximum_version = maximum
    # Let the client offer old protocols, so a refusal can only come from the server.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with socket.create_connection(("127.0.0.1", server.https_port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            return str(tls.version())


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_r_x1_tls_1_1_refused_tls_1_2_and_1_3_accepted(server: Server) -> None:
    with pytest.raises(ssl.SSLError) as refused:
        _handshake(server, ssl.TLSVersion.TLSv1_1)
    assert refused.value.reason in {"TLSV1_ALERT_PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL"}
    assert _handshake(server, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    assert _handshake(server, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"


def _tls12_handshake(server: Server, ciphers: str) -> str:
    context = ssl.create_default_context(cafile=str(server.ca))
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(ciphers)
    with socket.create_connection(("127.0.0.1", server.https_port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            return str(tls.cipher()[0])


CBC_SUITES = [
    "ECDHE-ECDSA-AES128-SHA256",
    "ECDHE-ECDSA-AES256-SHA384",
    "ECDHE-ECDSA-AES128-SHA",
    "ECDHE-ECDSA-AES256-SHA",
    "ECDHE-RSA-AES128-SHA256",
    "ECDHE-RSA-AES256-SHA384",
    "AES128-SHA256",
    "AES256-SHA256",
]
AEAD_SUITES = [
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
]


def test_r_x9_tls_1_2_offers_aead_cipher_suites_only(server: Server) -> None:
    offered = ":".join(CBC_SUITES) + ":@SECLEVEL=0"
    # The client really offers them: a refusal can only come from the server.
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.set_ciphers(offered)
    assert {c["name"] for c in client.get_ciphers()} >= set(CBC_SUITES)
    with pytest.raises(ssl.SSLError):
        _tls12_handshake(server, offered)
    for suite in AEAD_SUITES:
        assert _tls12_handshake(server, suite) == suite


def _modes_still_there(paths: list[Path]) -> dict[Path, int]:
    """SQLite removes its -wal and -shm files when the last connection closes, which may
    happen between listing the directory and reading a file's mode."""
    modes = {}
    for path in paths:
        try:
            modes[path] = stat.S_IMODE(path.lstat().st_mode)
        except FileNotFoundError:
            continue
    return modes


def test_r_x9_database_and_keys_are_readable_by_their_owner_only(server: Server) -> None:
    context = ssl.create_default_context(cafile=str(server.ca))
    # Requests that read and write the database while the server runs (WAL in use).
    for _ in range(3):
        httpx.post(
            f"https://localhost:{server.https_port}/api/mobile/v1/challenge",
            verify=context,
            timeout=10,
        )
    private = [
        "skarbiec.sqlite3",
        "skarbiec.sqlite3-wal",
        "skarbiec.sqlite3-shm",
        "secret_key",
        "tls/ca-key.pem",
        "tls/localhost-key.pem",
    ]
    modes = {
        str(path.relative_to(server.data_dir)): mode
        for path, mode in _modes_still_there([server.data_dir / n for n in private]).items()
    }
    assert {"skarbiec.sqlite3", "secret_key", "tls/ca-key.pem"} <= set(modes)
    assert modes == dict.fromkeys(modes, 0o600)


def test_r_x9_nothing_the_server_wrote_is_writable_by_others(server: Server) -> None:
    """Started with umask 000: the TLS keys, metrics scratch files, static files and the
    database must still be writable by their owner only."""
    httpx.get(
        f"https://localhost:{server.https_port}/",
        verify=ssl.create_default_context(cafile=str(server.ca)),
        timeout=10,
    )
    written = [p for p in server.data_dir.rglob("*") if p.name != "run.log"]
    assert any(p.parent.name == "tls" for p in written)
    assert any("metrics" in p.parts for p in written)
    assert any("static" in p.parts for p in written)
    shared = {
        str(path.relative_to(server.data_dir)): oct(mode)
        for path, mode in _modes_still_there(written).items()
        if mode & 0o022
    }
    assert shared == {}
    assert stat.S_IMODE((server.data_dir / "tls").stat().st_mode) == 0o700


def test_r_x1_plain_http_only_redirects_to_https(server: Server) -> None:
    base = f"http://127.0.0.1:{server.http_port}"
    response = httpx.get(f"{base}/login/?next=/accounts/", timeout=10)
    assert response.status_code == 301
    assert (
        response.headers["location"]
        == f"https://127.0.0.1:{server.https_port}/login/?next=/accounts/"
    )
    assert response.content == b""
    posted = httpx.post(f"{base}/api/mobile/v1/", json={"pin": "12345"}, timeout=10)
    assert posted.status_code == 301
    # A Host header that is not ours never becomes the redirect target.
    foreign = httpx.get(f"{base}/x", headers={"Host": "evil.example"}, timeout=10)
    assert foreign.headers["location"] == "https://localhost:8443/x"


def _raw_https(server: Server, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Bytes sent as they are (no client library tidies them), the answer read to the end."""
    context = ssl.create_default_context(cafile=str(server.ca))
    with socket.create_connection(("127.0.0.1", server.https_port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(request)
            answer = b""
            while chunk := tls.recv(65536):
                answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        # A request line over gunicorn's 8190 bytes.
        (b"GET /api/mobile/v1/session?x=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n",
         414, "request_too_large"),
        # A header over gunicorn's 9000 bytes.
        (b"GET /api/mobile/v1/session HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"b" * 17000
         + b"\r\n\r\n", 431, "request_too_large"),
        # Headers of 80 KB in all, each line and their number within gunicorn's limits.
        (b"GET /api/mobile/v1/session HTTP/1.1\r\nHost: localhost\r\n"
         + b"".join(b"X-Junk-%d: " % n + b"j" * 8000 + b"\r\n" for n in range(10))
         + b"\r\n", 431, "request_too_large"),
        # Not HTTP at all.
        (b"\x16GARBAGE\r\n\r\n", 400, "invalid_input"),
    ],
)  # fmt: skip
def test_r_x8_requests_gunicorn_refuses_itself_get_the_apis_json_not_html(
    server: Server, request_bytes: bytes, status: int, code: str
) -> None:
    answer_status, headers, body = _raw_https(server, request_bytes)
    assert answer_status == status, body[:300]
    assert headers["content-type"] == "application/json", headers
    refusal = json.loads(body)
    assert refusal["code"] == code and refusal["message"], refusal
    # The installation's language (Polish): nothing in a refused request is trusted to choose.
    assert headers["content-language"] == "pl" and refusal["message"] in {
        "Żądanie jest zbyt duże.",
        "Nie udało się odczytać żądania.",
    }
    assert headers["strict-transport-security"].startswith("max-age=31536000")


def test_r_x8_a_connection_kept_alive_after_a_413_serves_the_next_request(
    server: Server,
) -> None:
    """The body refused unread is read and dropped: gunicorn would otherwise close the
    connection it had just called keep-alive, and the client's next request there, perhaps a
    transfer, would get no answer at all."""
    context = ssl.create_default_context(cafile=str(server.ca))
    url = f"https://localhost:{server.https_port}/api/mobile/v1/challenge"
    with httpx.Client(verify=context, timeout=10) as client:
        refused = client.post(url, content=b"{" + b" " * 70_000 + b"}")
        assert refused.status_code == 413 and refused.json()["code"] == "request_too_large"
        assert client.post(url).status_code == 200


def test_r_x1_a_local_process_cannot_forge_the_scheme_or_script_path(server: Server) -> None:
    """Over TLS from 127.0.0.1, headers that gunicorn trusts from loopback by default would
    make the request plain HTTP (a redirect loop) or move every link under a forged prefix."""
    status, headers, body = _raw_https(
        server,
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        b"X-Forwarded-Proto: http\r\nSCRIPT_NAME: /elsewhere\r\n\r\n",
    )
    assert status == 200, (status, headers, body[:300])
    status, headers, _ = _raw_https(
        server,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        b"X-Forwarded-Ssl: off\r\nSCRIPT_NAME: /elsewhere\r\n\r\n",
    )
    assert status < 400 and "/elsewhere" not in headers.get("location", ""), headers


def test_r_x1_stopping_run_stops_every_process_it_started(server: Server) -> None:
    children = process_tree(server.process.pid)[1:]
    # gunicorn worker, plain HTTP redirect and the SMS worker at least.
    assert len(children) >= 3, server.output()
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=15) == 0
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in children if alive(pid)]


@pytest.mark.parametrize(
    ("host", "path", "https_port", "expected"),
    [
        ("localhost:8080", "/a?b=1", 8443, "https://localhost:8443/a?b=1"),
        ("[::1]:8080", "/", 8443, "https://[::1]:8443/"),
        ("127.0.0.1", "/x", 443, "https://127.0.0.1/x"),
        ("evil.example:8080", "/x", 8443, "https://bank.example/x"),
        ("", "/x", 8443, "https://bank.example/x"),
        ("localhost", "//evil.example/", 8443, "https://localhost:8443/"),
    ],
)
def test_r_x1_redirect_target_keeps_to_our_hosts(
    host: str, path: str, https_port: int, expected: str
) -> None:
    from skarbiec.operations.plain_http import redirect_target

    allowed = ["localhost", "127.0.0.1", "[::1]"]
    assert redirect_target(host, path, https_port, allowed, "https://bank.example") == expected


def test_r_d1_static_files_and_error_pages_are_readable_by_nginx_whatever_the_umask(
    tmp_path: Path,
) -> None:
    """Collected under systemd's UMask=0077 into a new data directory: nginx's own user must
    pass through the data directory (without listing it) and read every public file."""
    data_dir = tmp_path / "fresh"
    env = production_env(data_dir)
    skarbiec = [sys.executable, "-m", "skarbiec"]
    for command in (["collectstatic", "--noinput", "-v0"], ["errorpages"]):
        subprocess.run([*skarbiec, *command], env=env, check=True, timeout=120, umask=0o077)
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o711
    public = [*(data_dir / "static").rglob("*"), *(data_dir / "errorpages").rglob("*")]
    assert any(p.suffix == ".js" for p in public) and any(p.suffix == ".html" for p in public)
    modes = {str(p): stat.S_IMODE(p.stat().st_mode) for p in public}
    wanted = {str(p): 0o755 if p.is_dir() else 0o644 for p in public}
    assert modes == wanted
    for top in ("static", "errorpages"):
        assert stat.S_IMODE((data_dir / top).stat().st_mode) == 0o755
