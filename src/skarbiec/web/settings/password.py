"""Settings → Change password (R-O1, R-P1, R-W2): the current password and a new one, then the
SMS code; other web sessions end."""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from skarbiec.channels.web.password import confirm_web_password_change, request_web_password_change
from skarbiec.core.errors import DomainError
from skarbiec.members.errors import PasswordRejected
from skarbiec.otp.errors import OtpAttemptsExhausted, OtpExpired
from skarbiec.web import member_session
from skarbiec.web.decorators import member_required
from skarbiec.web.errors import reshow_on_error
from skarbiec.web.forms import CodeForm
from skarbiec.web.request import context_of, member_of
from skarbiec.web.settings.forms import WebPasswordForm
from skarbiec.web.settings.notices import pop_settings_notice, set_settings_notice

# Session key of the web password change's code step: the id of the SMS code.
PENDING_WEB_PASSWORD = "settings_pending_web_password"


def _render_web_password(
    request: HttpRequest,
    form: WebPasswordForm | None = None,
    error: DomainError | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "web/settings/web_password.html",
        {
            "form": form or WebPasswordForm(),
            "error": error,
            "problems": error.problems if isinstance(error, PasswordRejected) else None,
            "attempts_left": error.details.get("attempts_left") if error else None,
            "settings_notice": pop_settings_notice(request) if error is None else None,
            "section": "password",
        },
        status=status,
    )


def _password_refused(request: HttpRequest, error: DomainError) -> HttpResponse:
    # A third wrong current password blocks the channel: the next request ends the session.
    return _render_web_password(request, error=error, status=error.status)


@require_http_methods(["GET", "POST"])
@member_required
@reshow_on_error(_password_refused)
def change_web_password(request: HttpRequest) -> HttpResponse:
    """R-O1 step 1: the current password and a new one (every broken rule listed, R-P1, R-P2)."""
    if request.method == "GET":
        return _render_web_password(request)
    form = WebPasswordForm(request.POST)
    if not form.is_valid():
        return _render_web_password(request, form=form, status=400)
    otp_id = request_web_password_change(
        member_of(request),
        form.cleaned_data["current_password"],
        form.cleaned_data["new_password"],
        form.cleaned_data["repeated"],
        context_of(request),
    )
    request.session[PENDING_WEB_PASSWORD] = otp_id
    return HttpResponseRedirect(reverse("web:settings_password_code"))


def _render_code(
    request: HttpRequest,
    form: CodeForm | None = None,
    error: DomainError | None = None,
    status: int = 200,
) -> HttpResponse:
    restart = isinstance(error, OtpExpired | OtpAttemptsExhausted)
    if restart:
        request.session.pop(PENDING_WEB_PASSWORD, None)
    return render(
        request,
        "web/settings/web_password_code.html",
        {
            "form": form or CodeForm(),
            "error": error,
            "attempts_left": error.details.get("attempts_left") if error else None,
            "restart": restart,
            "section": "password",
        },
        status=status,
    )


def _code_refused(request: HttpRequest, error: DomainError) -> HttpResponse:
    return _render_code(request, error=error, status=error.status)


@require_http_methods(["GET", "POST"])
@member_required
@reshow_on_error(_code_refused)
def change_web_password_code(request: HttpRequest) -> HttpResponse:
    """R-O1 step 2: the SMS code; the new password replaces the old one, other sessions end."""
    otp_id = request.session.get(PENDING_WEB_PASSWORD)
    if not isinstance(otp_id, int):
        return HttpResponseRedirect(reverse("web:settings_password"))
    if request.method == "GET":
        return _render_code(request)
    form = CodeForm(request.POST)
    if not form.is_valid():
        return _render_code(request, form=form, status=400)
    generation = confirm_web_password_change(
        member_of(request),
        otp_id,
        form.cleaned_data["code"],
        member_session.session_generation(request),
        context_of(request),
    )
    request.session.pop(PENDING_WEB_PASSWORD, None)
    member_session.keep_session_after_password_change(request, generation)
    set_settings_notice(request, "web_password_changed")
    return HttpResponseRedirect(reverse("web:settings_password"))
