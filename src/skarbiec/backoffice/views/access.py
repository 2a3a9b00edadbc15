"""Who may open a back-office page (R-B1, R-B6), and how a form shows a refusal.

Pages check permissions (held by the roles' groups), never group names. A refusal leaving a
view becomes the back-office error page (StaffSessionMiddleware.process_exception); a form
shows its refusal beside the field it names, in the refusal's status, and saves nothing.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy

from skarbiec.backoffice.login import staff_context
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError, NotFound
from skarbiec.core.http import request_context
from skarbiec.members.models import StaffProfile
from skarbiec.members.staff import require_permission

View = Callable[..., HttpResponse]


def staff_required(permission: str | None = None) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            staff = getattr(request, "staff", None)
            if staff is None:
                return HttpResponseRedirect(reverse("backoffice:login"))
            if permission:
                require_permission(staff, permission)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def current_staff(request: HttpRequest) -> StaffProfile:
    staff = getattr(request, "staff", None)
    assert staff is not None
    return staff


def staff_ctx(request: HttpRequest) -> RequestContext:
    """The named staff member acting from this request (R-B5)."""
    return staff_context(current_staff(request), request_context(request, "backoffice"))


#: Django's own message repeats the value sent, whatever its size or characters (a
#: megabyte's value made a megabyte's page).
CHOICE_NOT_LISTED = gettext_lazy("Choose one of the options listed.")


def _choices_not_echoed(form: forms.Form) -> None:
    for field in form.fields.values():
        if isinstance(field, forms.ChoiceField):
            field.error_messages = {**field.error_messages, "invalid_choice": CHOICE_NOT_LISTED}


def form_page(
    request: HttpRequest,
    template: str,
    form: forms.Form,
    action: Callable[[dict[str, Any]], HttpResponse],
    context: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
) -> HttpResponse:
    """GET shows the form; a valid POST runs `action` (one service call); bad input or a
    refusal shows the form again with the message beside its field (4xx), nothing saved.
    A `context` given as a function is called only when the page is rendered (a read that is
    recorded as seen, R-B5), after the action's refusal, so it shows the state after it."""
    status = 200
    if request.method == "POST":
        status = 400
        _choices_not_echoed(form)
        if form.is_valid():
            try:
                return action(form.cleaned_data)
            except NotFound:
                raise
            except DomainError as error:
                field = error.details.get("field")
                form.add_error(field if field in form.fields else None, str(error.message))
                for problem in error.details.get("problems") or []:
                    form.add_error(field if field in form.fields else None, str(problem))
                status = error.status
    shown = context() if callable(context) else context
    return render(request, template, {**(shown or {}), "form": form}, status=status)


def error_page(request: HttpRequest, error: DomainError) -> HttpResponse:
    return render(request, "backoffice/error.html", {"error": error}, status=error.status)


FLASH = "staff_flash"


def flash(request: HttpRequest, text: str) -> None:
    """A one-shot confirmation for the next page (after a redirect)."""
    request.session[FLASH] = text


def pop_flash(request: HttpRequest) -> str | None:
    text = request.session.pop(FLASH, None)
    return text if isinstance(text, str) else None
