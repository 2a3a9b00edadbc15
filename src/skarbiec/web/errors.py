"""One mapping of domain errors to pages of the internet service (R-X8).

A view parses its input, calls one service and renders; it never catches a DomainError itself.

- A form view is decorated with `reshow_on_error(renderer)`: any refusal of its service shows
  the form again with the message, in the refusal's status (`renderer(request, error, ...)`
  receives the view's own arguments).
- A blocked internet service is always the blocked page with the helpline numbers (R-W2), and
  anything not found is the not-found page (404), whatever the view: `DomainErrorPages`, a
  middleware, answers them, and any other refusal no view re-showed as a plain error page.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _

from skarbiec.channels.errors import WebChannelBlocked
from skarbiec.core.errors import DomainError, InvalidInput, NotFound
from skarbiec.web import member_session

View = Callable[..., HttpResponseBase]
Renderer = Callable[..., HttpResponse]


def reshow_on_error(
    renderer: Renderer, *, including_not_found: bool = False
) -> Callable[[View], View]:
    """The form view re-shows its form with the refusal's message. A blocked channel has its own
    page; so has something not found, unless the form itself says what to do about it (a code
    step whose operation is gone: start again)."""
    passed_on: tuple[type[DomainError], ...] = (
        (WebChannelBlocked,) if including_not_found else (WebChannelBlocked, NotFound)
    )

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            try:
                return view(request, *args, **kwargs)
            except passed_on:
                raise
            except DomainError as error:
                return renderer(request, error, *args, **kwargs)

        return wrapper

    return decorate


def form_refusal(form: forms.Form) -> InvalidInput:
    """A form's first problem as the refusal its page shows: the field's label and Django's
    own words for what is wrong with it (too long, not a number, missing), not a guess; a field
    with no label is one the page fills in itself (the transfer's key): the page is out of date."""
    name, problems = next(iter(form.errors.items()))
    field = form.fields.get(name)
    if field is None or not field.label:
        return InvalidInput(_("This form is out of date. Reload the page and fill it in again."))
    return InvalidInput(
        _("%(field)s: %(problem)s") % {"field": field.label, "problem": problems[0]},
        field=name,
    )


def blocked_page(request: HttpRequest, error: WebChannelBlocked) -> HttpResponse:
    """The blocked page with the helpline numbers (R-W2); a login under way ends with it."""
    member_session.cancel_pending_login(request)
    return render(
        request,
        "web/blocked.html",
        {"error": error, "helpline": error.details.get("helpline") or []},
        status=error.status,
    )


def not_found_page(request: HttpRequest, error: DomainError) -> HttpResponse:
    return render(request, "web/not_found.html", {"error": error}, status=404)


def error_context(error: DomainError | None) -> dict[str, Any]:
    """What every form template reads of a refusal: the message, the field, attempts left."""
    if error is None:
        return {"error": None, "error_field": None, "attempts_left": None}
    return {
        "error": error,
        "error_field": error.details.get("field"),
        "attempts_left": error.details.get("attempts_left"),
    }


class DomainErrorPages:
    """Turns a DomainError that left a page view into its page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if request.path_info.startswith("/api/") or not isinstance(exception, DomainError):
            return None
        if isinstance(exception, WebChannelBlocked):
            return blocked_page(request, exception)
        if isinstance(exception, NotFound):
            return not_found_page(request, exception)
        return render(request, "web/error.html", {"error": exception}, status=exception.status)
