"""Who is asking, taken from an HTTP request, for the audit log and rate limits."""

from django.conf import settings
from django.http import HttpRequest

from skarbiec.core.context import RequestContext


def client_ip(request: HttpRequest) -> str:
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        # Behind our TLS proxy the nearest hop is the proxy; it appends the real client last.
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()[:64]
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def request_context(request: HttpRequest, channel: str, device: str = "") -> RequestContext:
    return RequestContext(
        ip_address=client_ip(request),
        channel=channel,
        device=device or str(request.META.get("HTTP_USER_AGENT", ""))[:200],
        actor="member",
    )
