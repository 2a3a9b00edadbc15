"""The mobile JSON API at /api/mobile/v1/ (OpenAPI at /api/mobile/v1/openapi.json).

Every error is JSON `{code, message, attempts_left?, helpline?, …}` with its HTTP status, in the
request's language (Accept-Language; Polish by default). Authentication is by bearer tokens and
device signatures, never cookies, so the API needs no CSRF token.
"""

import json
import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi import get_schema
from ninja.openapi.schema import OpenAPISchema
from ninja.parser import Parser

from skarbiec.api.ledger import router as ledger_router
from skarbiec.api.mobile import router as mobile_router
from skarbiec.api.overview import router as overview_router
from skarbiec.api.problems import problem_text
from skarbiec.core.errors import (
    DomainError,
    FieldGivenTwice,
    ForbiddenCharacters,
    InvalidInput,
    NotFound,
    UnreadableRequest,
)

log = logging.getLogger(__name__)


class SkarbiecAPI(NinjaAPI):
    """Builds the OpenAPI document once per process: it costs about 100 ms of CPU and anyone may
    fetch it without logging in (R-X8)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._openapi_schemas: dict[str, OpenAPISchema] = {}

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        schema = self._openapi_schemas.get(path_prefix)
        if schema is None:
            schema = self._openapi_schemas[path_prefix] = get_schema(self, path_prefix)
        return schema


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object of a request body: every key once, none with a NUL (unknown keys are read
    too, so no part of a body escapes the edge's rules, R-X8)."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if "\x00" in key:
            raise ForbiddenCharacters()
        if key in found:
            raise FieldGivenTwice()
        found[key] = value
    return found


class RequestBodyParser(Parser):
    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        # UTF-8 only (RFC 8259 §8.1): given bytes, `json.loads` also reads UTF-16 and UTF-32,
        # which the documented signed bytes and every other client never send.
        text = request.body.decode("utf-8")
        body: dict[str, Any] = json.loads(text, object_pairs_hook=_json_object)
        return body


api = SkarbiecAPI(
    title="Skarbiec mobile API",
    parser=RequestBodyParser(),
    version="1",
    description="Activation, PIN and fingerprint login of the mobile app. See docs/mobile-api.md.",
    urls_namespace="mobile_api",
    openapi_url="/openapi.json",
    docs_url=None,  # the Swagger page loads scripts from a CDN, which our CSP forbids
)


def _error(request: HttpRequest, status: int, body: dict) -> HttpResponse:
    return api.create_response(request, body, status=status)


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    response = _error(request, exc.status, exc.as_dict())
    if exc.details.get("retry_after"):
        response["Retry-After"] = str(exc.details["retry_after"])
    return response


@api.exception_handler(ValidationError)
def invalid_input(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = [problem_text(err) for err in exc.errors[:10]]
    return _error(
        request,
        422,
        {
            "code": "invalid_input",
            "message": _("The request is not valid: check the fields named in the problems."),
            "problems": problems,
        },
    )


@api.exception_handler(AuthenticationError)
def not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(
        request, 401, {"code": "not_authenticated", "message": _("Log in to the mobile app.")}
    )


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # django-ninja's own refusals (a body that is not JSON) carry fixed English texts; the
    # member is answered in the request's language (R-X5, R-X8).
    if isinstance(exc.__cause__, InvalidInput):
        # Refused by the body's parser (RequestBodyParser): 422, as the edge's refusals.
        return _error(request, 422, exc.__cause__.as_dict())
    error = UnreadableRequest() if exc.status_code < 500 else DomainError()
    return _error(request, exc.status_code, {"code": error.code, "message": str(error.message)})


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return domain_error(request, NotFound())


api.add_router("/", mobile_router)
api.add_router("/", ledger_router)
api.add_router("/", overview_router)

# The root URLconf includes this module; ninja's (patterns, app_name, namespace) unpacked.
urlpatterns, _app, app_name = api.urls  # reverse() uses "mobile_api:…"
