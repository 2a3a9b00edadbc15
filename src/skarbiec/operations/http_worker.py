"""The gunicorn worker of `skarbiec run`: gthread, with gunicorn's own refusals as JSON (R-X8).

gunicorn refuses some requests before Django sees them: a request line over 8190 bytes (414),
a header line over 9000 bytes, more than 200 headers or over HEADER_BLOCK_BYTES of headers in
all (431), a request it cannot parse (400); its length limits are set in `skarbiec run` above
nginx's buffers, so behind nginx what is too long is answered by nginx (JSON under /api/, a
page in the member's language elsewhere; a request of over 200 small headers still reaches
gunicorn's limit). What
reaches gunicorn directly is written by it as an HTML page; such requests come from programs,
not from a member's browser, so they get the API's error body instead, in the installation's
language: no header of the refused request can be trusted to choose another.

gunicorn has no setting for that body; the worker replaces gunicorn's error writer in its own
process when it starts.

Nor has it one for the headers in all: it allows as many bytes as its two limits multiply to
(200 lines of 9000 bytes, 1.8 MB), and copies and parses what it holds again at every read of
the socket. Sent in small TLS records, 880 KB of headers cost 3.3 s of CPU, before anything
could refuse them (R-X8). The worker's requests hold at most HEADER_BLOCK_BYTES, as much as
nginx's `large_client_header_buffers 4 8k` in front of it, and their head is read whole
(linear in its size) before gunicorn's parser sees it once: sent one byte per TLS record, 31 KB
of headers still cost a second of CPU.
"""

import json
import socket
from typing import Any

from django.conf import settings
from django.utils import translation
from gunicorn import util
from gunicorn.http.errors import LimitRequestHeaders
from gunicorn.http.message import Request
from gunicorn.http.parser import RequestParser
from gunicorn.workers.gthread import ThreadWorker

from skarbiec.core.errors import DomainError, RequestTooLarge, ServerError, UnreadableRequest

#: The request line aside, the most bytes of headers a request may carry (nginx: 4 × 8k).
HEADER_BLOCK_BYTES = 32 * 1024


class BoundedRequest(Request):
    """gunicorn's request, whose headers may take HEADER_BLOCK_BYTES in all, read whole."""

    def parse(self, unreader: Any) -> bytes:
        # Set by gunicorn's __init__ from its two limits, just before it parses.
        limit: int = getattr(self, "max_buffer_headers")  # noqa: B009
        self.max_buffer_headers = min(limit, HEADER_BLOCK_BYTES)
        line: int = getattr(self, "limit_request_line", 0) or HEADER_BLOCK_BYTES
        headers = read_the_head(unreader, self.max_buffer_headers + line)
        # gunicorn checks the headers' bytes in all only while they are incomplete.
        if headers > self.max_buffer_headers:
            raise LimitRequestHeaders("max buffer headers")
        return super().parse(unreader)


def read_the_head(unreader: Any, most: int) -> int:
    """Read a request's head up to its blank line (or `most` bytes, or the end of the stream)
    and give it back to `unreader`: gunicorn's parser then takes it in one read. Each read
    here looks only at the bytes it added. Returns the bytes of the headers of a whole head
    (after the request line), 0 if the head is not whole."""
    head = bytearray()
    end = -1
    while len(head) <= most:
        chunk = unreader.read()
        if not chunk:
            break
        start = max(len(head) - 3, 0)
        head += chunk
        end = max(head.find(b"\r\n\r\n", start), head.find(b"\n\n", start))
        if end >= 0:
            break
    if head:
        unreader.unread(bytes(head))
    return end - head.find(b"\n") if end >= 0 else 0


def refusal_of(status: int) -> DomainError:
    """The API's error for a status gunicorn answers by itself."""
    if status in (413, 414, 431):
        return RequestTooLarge()
    if status == 500:
        return ServerError()
    return UnreadableRequest()


def refusal_bytes(status: int, reason: str) -> bytes:
    """The whole HTTP answer: status line, headers, JSON body."""
    with translation.override(settings.LANGUAGE_CODE):
        body = json.dumps(refusal_of(status).as_dict(), ensure_ascii=False).encode()
    headers = {
        "Connection": "close",
        "Content-Type": "application/json",
        "Content-Language": settings.LANGUAGE_CODE,
        "Content-Length": str(len(body)),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if settings.SECURE_HSTS_SECONDS:
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            hsts += "; includeSubDomains"
        headers["Strict-Transport-Security"] = hsts
    head = f"HTTP/1.1 {status} {reason}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (head + "\r\n").encode("latin-1") + body


def _write_refusal(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    # gunicorn's detail (`mesg`) names its parser's internals: logged by gunicorn, not sent.
    util.write_nonblock(sock, refusal_bytes(status_int, reason))


class SkarbiecThreadWorker(ThreadWorker):
    def init_process(self) -> None:
        util.write_error = _write_refusal
        RequestParser.mesg_class = BoundedRequest
        super().init_process()
