"""The worker's requests (R-X8): headers bounded in all, and read whole before gunicorn's
parser, which copies and parses everything it holds at each read of the socket."""

import pytest
from gunicorn.config import Config
from gunicorn.http.errors import LimitRequestHeaders
from gunicorn.http.message import Request
from gunicorn.http.unreader import IterUnreader

from skarbiec.operations.http_worker import HEADER_BLOCK_BYTES, BoundedRequest


def _config() -> Config:
    config = Config()
    # As `skarbiec run` sets them: 200 lines of 9000 bytes would allow 1.8 MB of headers.
    config.set("limit_request_line", 8190)
    config.set("limit_request_field_size", 9000)
    config.set("limit_request_fields", 200)
    return config


def _one_byte_at_a_time(data: bytes) -> IterUnreader:
    return IterUnreader(data[i : i + 1] for i in range(len(data)))


def _head(header_bytes: int) -> bytes:
    lines = b"".join(b"X-Junk-%d: " % n + b"j" * 480 + b"\r\n" for n in range(header_bytes // 500))
    return b"GET / HTTP/1.1\r\nHost: localhost\r\n" + lines + b"\r\n"


def test_r_x8_a_head_sent_byte_by_byte_is_parsed_once(monkeypatch):
    """Sent one byte per TLS record, 31 KB of headers cost a second of CPU: gunicorn's parser
    ran over all it held at each of 31,000 reads. The head is now read whole, then parsed."""
    reads = []
    read_into = Request.read_into

    def counted(self, unreader, buf, stop=False):  # noqa: ANN001, ANN202
        reads.append(len(buf))
        return read_into(self, unreader, buf, stop)

    monkeypatch.setattr(Request, "read_into", counted)
    request = BoundedRequest(_config(), _one_byte_at_a_time(_head(30_000)), ("127.0.0.1", 1))
    assert len(request.headers) > 50
    assert len(reads) <= 2, len(reads)


def test_r_x8_headers_over_32_kib_in_all_are_refused():
    with pytest.raises(LimitRequestHeaders):
        BoundedRequest(_config(), IterUnreader([_head(HEADER_BLOCK_BYTES + 4000)]), ("::1", 1))
    # Without the bound, gunicorn's own limits let them through.
    assert Request(_config(), IterUnreader([_head(HEADER_BLOCK_BYTES + 4000)]), ("::1", 1))
