"""`skarbiec run`'s gunicorn settings (R-X1): only Django's proxy setting decides which hop is
trusted, so a local process cannot change a request's scheme or its script path."""

import io

import pytest
from django.core.management.base import CommandError
from gunicorn.config import Config
from gunicorn.http.parser import RequestParser

from skarbiec.operations.management.commands.run import gunicorn_settings, split_bind

FORGED = (
    b"GET /start/ HTTP/1.1\r\nHost: localhost\r\n"
    b"X-Forwarded-Proto: http\r\nX-Forwarded-Ssl: off\r\nSCRIPT_NAME: /elsewhere\r\n\r\n"
)


def _parsed_from(peer: str, tls: bool):  # noqa: ANN202 - gunicorn's Request has no stubs
    config = Config()
    for name, value in gunicorn_settings("127.0.0.1:8443", 2).items():
        config.set(name, value)
    if tls:
        config.set("certfile", "/server.pem")
        config.set("keyfile", "/server.key")
    return next(iter(RequestParser(config, io.BytesIO(FORGED), (peer, 40000))))


@pytest.mark.parametrize("peer", ["127.0.0.1", "::1", "10.0.0.5"])
@pytest.mark.parametrize("tls", [True, False])
def test_r_x1_forwarded_scheme_and_script_name_are_not_taken_from_any_peer(peer, tls):
    request = _parsed_from(peer, tls)
    # TLS stays https; behind the proxy Django reads X-Forwarded-Proto itself.
    assert request.scheme == ("https" if tls else "http")
    assert "SCRIPT_NAME" not in dict(request.headers)


@pytest.mark.parametrize(
    "bind", ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "h:²", "h:" + "9" * 5000]
)
def test_r_d1_bind_must_name_a_port(bind):
    with pytest.raises(CommandError):
        split_bind(bind)


def test_r_d1_bind_names_host_and_port():
    assert split_bind("0.0.0.0:8443") == ("0.0.0.0", 8443)
