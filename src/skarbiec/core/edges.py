"""EdgeMiddleware: refuses what no view should ever see, before any view or database work
(R-X8): a body over the size limit (413), NUL characters in the path, the query, form fields or
headers (PostgreSQL cannot store them: 4xx, never a 500). It also makes every 503 carry
Retry-After and every API error speak JSON, and drops the languages a request refuses (q=0)
before anything reads its language (core/languages.py).

The body limit is MAX_REQUEST_BYTES (SKARBIEC_MAX_REQUEST_BYTES) for a page that takes files
(`takes_uploads`: a credit union's logo), FORM_MAX_REQUEST_BYTES (32 KiB) for every other page,
and API_MAX_REQUEST_BYTES (64 KiB) under the API; a proxy in front should refuse the largest
(nginx `client_max_body_size`). Parsing a form costs about 0.1 ms of CPU per kilobyte of
percent-escapes, and it happens before any rate limit or session: a page's form of text is
never near 32 KiB, and a megabyte crafted for any address cost 100 ms. A page that takes files
reads its body only after its access check, so an anonymous upload is never parsed.
"""

import logging
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.http.request import UnreadablePostError
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import Resolver404, resolve

from skarbiec.core.errors import (
    DomainError,
    ForbiddenCharacters,
    InvalidInput,
    LengthRequired,
    MethodNotAllowed,
    NotFound,
    RequestTooLarge,
)
from skarbiec.core.languages import drop_refused_languages
from skarbiec.core.refusals import RETRY_AFTER_SECONDS, is_api_request, refusal_response

NUL = "\x00"
#: A body refused unread up to this size is read and dropped, so the client's kept-alive
#: connection serves its next request: gunicorn closes a connection whose body is left unread
#: after it said keep-alive, and the client's next request there gets no answer at all.
DRAIN_LIMIT_BYTES = 1024 * 1024
ERRORS_BY_STATUS: dict[int, type[DomainError]] = {404: NotFound, 405: MethodNotAllowed}
_CSRF = CsrfViewMiddleware(lambda request: HttpResponse())

View = TypeVar("View", bound=Callable[..., HttpResponse])


def takes_uploads(view: View) -> View:
    """Mark a page whose form sends files: its body may be up to MAX_REQUEST_BYTES, and this
    middleware leaves it unparsed (the view's form refuses NUL characters in its fields). The
    view must check access before it reads the body: CSRF included (`csrf_exempt` outside the
    access check, `csrf_protect` inside it)."""
    view.takes_uploads = True  # type: ignore[attr-defined]
    return view


def _takes_uploads(request: HttpRequest) -> bool:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    return bool(getattr(match.func, "takes_uploads", False))


def _has_nul(params: QueryDict) -> bool:
    return any(NUL in key or any(NUL in v for v in values) for key, values in params.lists())


def _refusal(request: HttpRequest) -> DomainError | None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return InvalidInput()
    api = is_api_request(request)
    limit = settings.API_MAX_REQUEST_BYTES if api else settings.MAX_REQUEST_BYTES
    if length > limit:
        return RequestTooLarge()
    uploads = False
    if not api and length > settings.FORM_MAX_REQUEST_BYTES:
        # Resolved only for a body this large: every page of text refuses it here.
        if not _takes_uploads(request):
            return RequestTooLarge()
        uploads = True
    if not length and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        # Django reads a body by its length: one sent in chunks would be read as empty.
        return LengthRequired()
    if NUL in request.path or any(
        NUL in str(value) for key, value in request.META.items() if key.startswith("HTTP_")
    ):
        return ForbiddenCharacters()
    try:
        # Read now (Django keeps it for the view): a body larger than allowed stops here.
        request.body  # noqa: B018
        if _has_nul(request.GET) or (not uploads and _has_nul(request.POST)):
            return ForbiddenCharacters()
    except RequestDataTooBig:
        return RequestTooLarge()
    except (MultiPartParserError, UnreadablePostError):
        return InvalidInput()
    except (SuspiciousOperation, BadRequest) as refused:
        # Django's own refusals of a form (too many fields or files, a charset it cannot
        # read): answered here, as the edge's, so their page's language switch gets the CSRF
        # cookie it needs; logged as Django logs them (a warning, operations/logs.py).
        logging.getLogger(f"django.security.{type(refused).__name__}").error(
            str(refused), exc_info=refused
        )
        return InvalidInput()
    return None


class EdgeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        drop_refused_languages(request)
        refusal = _refusal(request)
        if refusal is not None:
            _drain(request)
            if is_api_request(request):
                # The API refuses unreadable input with 422 like its schemas.
                return refusal_response(request, refusal, 422 if refusal.status == 400 else None)
            # The page's language switch posts a CSRF token: the cookie it matches is set here,
            # as the page middleware that sets it never runs for a request refused this early.
            _CSRF.process_request(request)
            page = refusal_response(request, refusal)
            _CSRF.process_response(request, page)  # sets the cookie on `page` itself
            return page
        response = self.get_response(request)
        if response.status_code == 503 and not response.has_header("Retry-After"):
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        if response.status_code >= 400 and _bare(request, response):
            # Answers made outside the views' own refusals (405 of a method a view does not
            # take): JSON in the API, a page in the request's language elsewhere (R-X8, R-X5).
            error = ERRORS_BY_STATUS.get(response.status_code, DomainError)()
            refused = refusal_response(request, error, response.status_code)
            if response.has_header("Allow"):
                refused["Allow"] = response["Allow"]
            return refused
        return response


def _drain(request: HttpRequest) -> None:
    try:
        left = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if not 0 < left <= DRAIN_LIMIT_BYTES or hasattr(request, "_body"):
        return
    try:
        while left > 0 and (chunk := request.read(min(left, 64 * 1024))):
            left -= len(chunk)
    except (OSError, UnreadablePostError):
        pass  # the client went away: nothing left to keep alive


def _bare(request: HttpRequest, response: HttpResponse) -> bool:
    if is_api_request(request):
        return not response.get("Content-Type", "").startswith("application/json")
    return not response.streaming and not response.content
