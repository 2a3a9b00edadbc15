"""Answers to requests refused outside a view's own handling (R-X8): JSON under the API, a page
elsewhere, in the request's language, never Django's bare error pages.

Used by EdgeMiddleware (too large, NUL characters) and as Django's handler400/404/500 (bad
numbers in URLs, unknown addresses, the database unavailable, anything no view caught).
"""

import sys

from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from skarbiec.core.errors import (
    DomainError,
    InvalidInput,
    NotFound,
    RequestTooLarge,
    ServerError,
    ServiceUnavailable,
    UnknownHost,
)

API_PREFIX = "/api/"
# What a client is told to wait when the database is unavailable (Retry-After, seconds).
RETRY_AFTER_SECONDS = 30
# Errors that mean "the database cannot be reached now", not "this request is wrong".
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
PAGE_TITLES = {
    404: _("Page not found"),
    413: _("The request is too large"),
    500: _("Something went wrong"),
    503: _("Service temporarily unavailable"),
}


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def refusal_response(
    request: HttpRequest, error: DomainError, status: int | None = None
) -> HttpResponse:
    """The refusal as JSON `{code, message}` for the API, as a page for a browser.

    Rendered without the page's context processors: they read the database, which may be
    the very thing that is unavailable.
    """
    status = status or error.status
    language = translation.get_language_from_request(request)
    with translation.override(language):
        if is_api_request(request):
            response: HttpResponse = JsonResponse(error.as_dict(), status=status)
        else:
            context = {
                "error": error,
                "title": error.page_title
                or PAGE_TITLES.get(status, _("The request was not accepted")),
                "language": language,
                # The language switch posts back here; a GET retried in the new language.
                "next": _same_page(request),
                "csrf_token": get_token(request),
            }
            html = render_to_string("core/refusal.html", context)
            response = HttpResponse(html, status=status)
        response["Content-Language"] = language
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _same_page(request: HttpRequest) -> str:
    # The language switch comes back to the refused page when that is safe to repeat.
    path = request.get_full_path()
    return path if request.method == "GET" and "\x00" not in path else "/"


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler400: Django's refusals of a request (a body over the limit, an id out of range,
    an unknown host)."""
    if isinstance(exception, RequestDataTooBig):
        return refusal_response(request, RequestTooLarge())
    if isinstance(exception, DisallowedHost):
        return refusal_response(request, UnknownHost())
    return refusal_response(request, InvalidInput())


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return refusal_response(request, NotFound())


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500, called while the uncaught exception is handled: a database that cannot be
    reached is 503 (the client may retry), anything else a 500 that still speaks JSON or HTML."""
    exc = sys.exc_info()[1]
    if isinstance(exc, DATABASE_UNAVAILABLE):
        return refusal_response(request, ServiceUnavailable())
    if isinstance(exc, DomainError):
        return refusal_response(request, exc)
    return refusal_response(request, ServerError())
