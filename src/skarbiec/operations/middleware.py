"""Two middlewares at the top of the stack (R-D2, R-D4).

OperationsEndpointsMiddleware answers /healthz, /readyz and /metrics before anything else runs:
no host check (a load balancer or Prometheus calls an instance by its address), no HTTPS
redirect (they call the plain-HTTP instance behind nginx), no session, no log line per probe.

RequestLogMiddleware gives every other request an id (nginx's, when behind our proxy), returns
it in X-Request-ID, times the request for the latency histogram and writes one JSON log line:
method, URL pattern (never the path itself, which may hold ids or search text), status,
duration and a keyed hash of the member, nothing the member typed.
"""

import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve

from skarbiec.core.keys import keyed_hash
from skarbiec.operations import health, metrics
from skarbiec.operations.logs import current_request_id

log = logging.getLogger("skarbiec.request")
probe_log = logging.getLogger("skarbiec.operations")

REQUEST_ID_HEADER = "X-Request-ID"
# nginx's $request_id is 32 hex digits; anything else from outside is replaced, not logged.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

Handler = Callable[[HttpRequest], HttpResponse]
# Metric labels stay few: any other method a client invents is counted as "other".
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class OperationsEndpointsMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path == "/healthz":
            return _plain({"status": "ok"}, 200)
        if path == "/readyz":
            result = health.readiness()
            if not result.ready:
                probe_log.warning("not ready: %s", ", ".join(result.failing))
            status = 200 if result.ready else 503
            answer = {
                "status": "ready" if result.ready else "not ready",
                "checks": result.checks,
                "failing": result.failing,
            }
            return _plain(answer, status)
        if path == "/metrics":
            if not metrics.token_accepted(request):
                # Served as any unknown URL is (the not-found page, in the visitor's language):
                # a member learns nothing from probing it.
                return self.get_response(request)
            body, content_type = metrics.render()
            response = HttpResponse(body, content_type=content_type)
            response["Cache-Control"] = "no-store"
            return response
        return self.get_response(request)


def _plain(body: Mapping[str, object], status: int) -> HttpResponse:
    response = JsonResponse(dict(body), status=status, json_dumps_params={"separators": (",", ":")})
    response["Cache-Control"] = "no-store"
    return response


def incoming_request_id(request: HttpRequest) -> str | None:
    """nginx's id, so its access log and ours share one key; trusted only behind our proxy (it
    overwrites the header), and only in its own shape."""
    if not getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        return None
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _REQUEST_ID.match(given) else None


def route_of(request: HttpRequest) -> str:
    """The URL pattern that serves the request, e.g. /transfers/<int:order_id>/."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        if request.path_info.startswith(settings.STATIC_URL):
            return settings.STATIC_URL + "*"
        try:
            match = resolve(request.path_info)
        except (Resolver404, BadRequest):  # BadRequest: an id out of range (R-X8)
            return "unmatched"
    return "/" + match.route


def member_ref(request: HttpRequest) -> str | None:
    """A keyed hash of the member's id: lines of one member can be followed, but a log reader
    cannot tell who it is (member ids are small numbers; a plain hash would give them away)."""
    member = getattr(request, "member", None)
    if member is None:
        auth = getattr(request, "auth", None)
        member = getattr(auth, "member", None)
    pk = getattr(member, "pk", None)
    if pk is None:
        return None
    return keyed_hash("log-member", str(pk))[:16]


class RequestLogMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = incoming_request_id(request) or uuid.uuid4().hex
        token = current_request_id.set(request_id)
        started = time.perf_counter()
        response: HttpResponse | None = None
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            return response
        finally:
            seconds = time.perf_counter() - started
            status = response.status_code if response is not None else 500
            route = route_of(request)
            method = request.method if request.method in _METHODS else "other"
            metrics.observe_request(method or "other", route, status, seconds)
            log.info(
                "request",
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                    "member": member_ref(request),
                },
            )
            current_request_id.reset(token)
