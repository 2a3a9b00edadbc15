"""Security headers on every response (R-W7); the middleware that only pages run."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from skarbiec.core.refusals import is_api_request

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "manifest-src 'self'",
        "worker-src 'self'",
    ]
)

# Public files the browser may keep: static files and the credit union's logo (issue 12).
PUBLIC_ASSETS = ("/static/", "/brand/")


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CSP)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if not request.path.startswith(PUBLIC_ASSETS):
            # Account data must never be kept by the browser or a proxy.
            response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"
        return response


class PageMiddleware:
    """The middleware of pages, which the API skips: the cookie session, CSRF, the staff user,
    the member's and staff's sessions and the error pages (settings.PAGE_MIDDLEWARE, in order).
    The API authenticates by bearer tokens and device signatures, never cookies, and answers
    its own errors as JSON; running these for it cost about a tenth of an API call's CPU.

    For a page, the chain and its hooks run exactly as Django runs them from MIDDLEWARE: each
    layer wrapped to turn its exceptions into responses, `process_view` in order before the
    view, `process_exception` and `process_template_response` in reverse order after it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        handler: Callable[[HttpRequest], Any] = get_response
        self._views: list[Callable[..., HttpResponse | None]] = []
        self._exceptions: list[Callable[..., HttpResponse | None]] = []
        self._templates: list[Callable[..., HttpResponse]] = []
        for path in reversed(settings.PAGE_MIDDLEWARE):
            layer = import_string(path)(handler)
            if hasattr(layer, "process_view"):
                self._views.insert(0, layer.process_view)
            if hasattr(layer, "process_template_response"):
                self._templates.append(layer.process_template_response)
            if hasattr(layer, "process_exception"):
                self._exceptions.append(layer.process_exception)
            handler = convert_exception_to_response(layer)
        self._pages: Callable[[HttpRequest], HttpResponse] = handler

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_request(request):
            return self.get_response(request)
        return self._pages(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if is_api_request(request):
            return None
        for hook in self._views:
            response = hook(request, view, args, kwargs)
            if response is not None:
                return response
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_api_request(request):
            return None
        for hook in self._exceptions:
            response = hook(request, exception)
            if response is not None:
                return response
        return None

    def process_template_response(self, request: HttpRequest, response: Any) -> Any:
        if is_api_request(request):
            return response
        for hook in self._templates:
            response = hook(request, response)
        return response
