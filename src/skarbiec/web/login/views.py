"""The login in two steps, the forced password change, logout and the session's countdown
(R-W1–R-W3), and the public *Get the mobile app* page (R-M11).

Views read the form, call one service of skarbiec.channels.web and render the result; refusals
go through skarbiec.web.errors (the form again with the message, the blocked page, …).
"""

import io
from typing import Any

import segno
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from skarbiec.channels.errors import LoginOvertaken, TemporaryPasswordExpired
from skarbiec.channels.web.login import (
    begin_web_login,
    cancel_web_login,
    complete_web_login,
    end_web_session,
    resend_web_login_code,
)
from skarbiec.channels.web.password import set_own_web_password
from skarbiec.core.errors import DomainError
from skarbiec.members.errors import PasswordRejected
from skarbiec.members.models import CreditUnion
from skarbiec.otp.errors import OtpAttemptsExhausted
from skarbiec.web import member_session
from skarbiec.web.decorators import member_required
from skarbiec.web.errors import reshow_on_error
from skarbiec.web.forms import CodeForm, NewPasswordForm
from skarbiec.web.login.forms import LoginForm
from skarbiec.web.request import context_of, member_of


def _render_landing(
    request: HttpRequest,
    form: LoginForm | None = None,
    error: DomainError | None = None,
    status: int = 200,
    notice: dict[str, Any] | None = None,
) -> HttpResponse:
    context: dict[str, Any] = {
        "form": form or LoginForm(),
        "error": error,
        "attempts_left": error.details.get("attempts_left") if error else None,
        "notice": notice,
    }
    return render(request, "web/landing.html", context, status=status)


def _login_refused(request: HttpRequest, error: DomainError) -> HttpResponse:
    # The password is never sent back; the Login is, as typed, for an unknown one as well.
    form = LoginForm(initial={"login": request.POST.get("login", "")[:32]})
    return _render_landing(request, form=form, error=error, status=error.status)


@require_safe
def landing(request: HttpRequest) -> HttpResponse:
    """The public page with the login form (step 1 of R-W1)."""
    if getattr(request, "member", None) is not None:
        return HttpResponseRedirect(reverse("web:start"))
    return _render_landing(request, notice=member_session.pop_notice(request))


@require_POST
@reshow_on_error(_login_refused)
def login_password(request: HttpRequest) -> HttpResponse:
    if getattr(request, "member", None) is not None:
        return HttpResponseRedirect(reverse("web:start"))
    form = LoginForm(request.POST)
    if not form.is_valid():
        return _render_landing(request, form=form, status=400)
    pending = begin_web_login(
        form.cleaned_data["login"],
        form.cleaned_data["password"],
        context_of(request),
        member_session.browser_note(request),
    )
    # A new session key before the second factor: a planted session id learns nothing. The
    # pending login is stored first, so the re-keyed row carries it (no second write).
    member_session.store_pending_login(request, pending)
    request.session.cycle_key()
    return HttpResponseRedirect(reverse("web:login_code"))


def _render_code(
    request: HttpRequest,
    form: CodeForm | None = None,
    error: DomainError | None = None,
    status: int = 200,
) -> HttpResponse:
    notice = member_session.pop_notice(request) if error is None else None
    attempts_left = error.details.get("attempts_left") if error else None
    if attempts_left is not None:
        member_session.note_code_attempts_left(request, attempts_left)
    return render(
        request,
        "web/login_code.html",
        {
            "form": form or CodeForm(),
            "error": error,
            "attempts_left": attempts_left,
            "code_attempts": member_session.pending_code_attempts(request),
            "notice": notice,
        },
        status=status,
    )


def _code_refused(request: HttpRequest, error: DomainError) -> HttpResponse:
    if isinstance(error, OtpAttemptsExhausted | LoginOvertaken | TemporaryPasswordExpired):
        # The login is cancelled (three wrong codes count toward the lockout, R-O4; a password
        # changed meanwhile, or a temporary one expired, counts for nothing): start again.
        member_session.cancel_pending_login(request)
        return _render_landing(request, error=error, status=error.status)
    return _render_code(request, error=error, status=error.status)


@require_http_methods(["GET", "POST"])
@reshow_on_error(_code_refused)
def login_code(request: HttpRequest) -> HttpResponse:
    """Step 2 of R-W1: the SMS code."""
    pending = member_session.pending_login(request)
    if pending is None:
        return HttpResponseRedirect(reverse("web:landing"))
    if request.method == "GET":
        return _render_code(request)
    form = CodeForm(request.POST)
    if not form.is_valid():
        return _render_code(request, form=form, status=400)
    member = complete_web_login(pending, form.cleaned_data["code"], context_of(request))
    member_session.start_member_session(
        request, member, pending.session_generation, pending.temporary_typed
    )
    response = HttpResponseRedirect(
        reverse("web:password" if member.must_change_password else "web:start")
    )
    member_session.remember_this_browser(request, response, member)
    return response


@require_POST
@reshow_on_error(_code_refused)
def resend_code(request: HttpRequest) -> HttpResponse:
    pending = member_session.pending_login(request)
    if pending is None:
        return HttpResponseRedirect(reverse("web:landing"))
    pending = resend_web_login_code(pending, context_of(request))
    member_session.store_pending_login(request, pending)
    member_session.set_notice(request, {"kind": "code_resent"})
    return HttpResponseRedirect(reverse("web:login_code"))


def _password_refused(request: HttpRequest, error: DomainError) -> HttpResponse:
    problems = error.problems if isinstance(error, PasswordRejected) else None
    return render(
        request,
        "web/password.html",
        {"form": NewPasswordForm(), "problems": problems, "error": error},
        status=error.status,
    )


@require_http_methods(["GET", "POST"])
@member_required
@reshow_on_error(_password_refused)
def change_temporary_password(request: HttpRequest) -> HttpResponse:
    """R-W1: the first login after onboarding or an operator reset sets the member's own
    password; every broken rule is listed at once (R-P1, R-P2)."""
    member = member_of(request)
    if not member.must_change_password:
        return HttpResponseRedirect(reverse("web:start"))
    if request.method == "GET":
        return render(request, "web/password.html", {"form": NewPasswordForm()})
    form = NewPasswordForm(request.POST)
    if not form.is_valid():
        return render(request, "web/password.html", {"form": form}, status=400)
    generation = set_own_web_password(
        member,
        form.cleaned_data["new_password"],
        form.cleaned_data["repeated"],
        member_session.session_generation(request),
        context_of(request),
        member_session.typed_temporary_password(request),
    )
    member_session.keep_session_after_password_change(request, generation)
    member_session.set_notice(request, {"kind": "password_changed"})
    return HttpResponseRedirect(reverse("web:start"))


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    member = getattr(request, "member", None)
    if member is not None:
        end_web_session(member, "logout", context_of(request))
    elif pending := member_session.pending_login(request):
        cancel_web_login(pending)  # "Cancel" on the code step
    member_session.end_member_session(request, {"kind": "logout"})
    return HttpResponseRedirect(reverse("web:landing"))


def _session_status(request: HttpRequest) -> JsonResponse:
    member = member_of(request)
    remaining = member_session.remaining_seconds(member, request.session, member_session.now_ts())
    return JsonResponse(
        {"remaining": remaining, "idle_timeout": member.credit_union.idle_timeout_seconds}
    )


@require_safe
@member_required
def session_status(request: HttpRequest) -> JsonResponse:
    """Seconds left, for the page's countdown. Polling it does not extend the session."""
    return _session_status(request)


@require_POST
@member_required
def session_extend(request: HttpRequest) -> JsonResponse:
    """ "Stay logged in": any request of the member moves the idle clock; this one only says so."""
    return _session_status(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without a valid CSRF token (R-W7): refused, nothing changed; staff are
    answered in the back-office's page, members in the internet service's."""
    if request.path.startswith("/backoffice/"):
        return render(request, "backoffice/csrf_failure.html", status=403)
    return render(request, "web/csrf_failure.html", status=403)


def _qr_svg(url: str) -> str:
    out = io.BytesIO()
    segno.make(url, error="m").save(
        out, kind="svg", scale=6, border=2, xmldecl=False, svgns=True, title=str(url)
    )
    return out.getvalue().decode()


@require_safe
def get_the_app(request: HttpRequest) -> HttpResponse:
    """R-M11: public page with a QR code and the link to the app."""
    app_url = settings.PUBLIC_URL + "/m/"
    defaults = CreditUnion()  # unsaved: only the policy's default values
    return render(
        request,
        "web/get_the_app.html",
        {
            "app_url": app_url,
            "qr_svg": _qr_svg(app_url),
            # The page shows the installation's credit union's policy when there is one
            # (context processor), else the defaults of the policy.
            "default_min_android": defaults.min_android_version,
            "default_min_ios": defaults.min_ios_version,
        },
    )
