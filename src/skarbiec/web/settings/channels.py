"""Settings → Access channels and *Activate mobile app* (R-W4, R-W5, R-M7).

Views read the form, call one service of skarbiec.channels and render; which transitions are
allowed, the password rules and the SMS codes live there, refusals go through skarbiec.web.errors.
Between the password step and the SMS code step only the id of the code is kept in the session.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_safe

from skarbiec.channels.lifecycle import deactivate_mobile_channel
from skarbiec.channels.mobile.app_password import (
    confirm_mobile_app_reactivation,
    confirm_mobile_channel_activation,
    request_mobile_app_reactivation,
    request_mobile_channel_activation,
)
from skarbiec.channels.queries import mobile_channel_overview
from skarbiec.core.errors import DomainError
from skarbiec.members.errors import PasswordRejected
from skarbiec.otp.errors import OtpAttemptsExhausted, OtpExpired
from skarbiec.web.decorators import member_required
from skarbiec.web.errors import reshow_on_error
from skarbiec.web.forms import CodeForm
from skarbiec.web.request import context_of, member_of
from skarbiec.web.settings.forms import MobilePasswordForm
from skarbiec.web.settings.notices import pop_settings_notice, set_settings_notice

# Session key of the code step: {"flow": "channel"|"app", "otp_id": int}.
PENDING_PASSWORD = "settings_pending_mobile_password"

# The two ways to define a mobile-app password: R-W4 (channel DISABLED) and R-W5 (blocked or no
# device). Same pages, different service functions.
FLOWS: dict[str, dict[str, Any]] = {
    "channel": {
        "request": request_mobile_channel_activation,
        "confirm": confirm_mobile_channel_activation,
        "title": _("Activate the mobile app channel"),
        "intro": _(
            "Choose a password for the mobile app. You will enter it, with your Login, when you "
            "activate the app on your phone. Choose one you do not use for the internet service."
        ),
        "password_url": "web:settings_channel_activate",
        "code_url": "web:settings_channel_activate_code",
        "done": "channel_activated",
    },
    "app": {
        "request": request_mobile_app_reactivation,
        "confirm": confirm_mobile_app_reactivation,
        "title": _("Activate mobile app"),
        "intro": _(
            "Define a new mobile-app password. This unblocks the mobile app; then activate the "
            "app on your phone again with your Login and the new password."
        ),
        "password_url": "web:settings_app_activate",
        "code_url": "web:settings_app_activate_code",
        "done": "app_reactivated",
    },
}


def _render_channels(
    request: HttpRequest, error: DomainError | None = None, status: int = 200
) -> HttpResponse:
    member = member_of(request)
    return render(
        request,
        "web/settings/channels.html",
        {
            "overview": mobile_channel_overview(member),
            "web_state": member.web_channel.state,
            "error": error,
            "settings_notice": pop_settings_notice(request) if error is None else None,
            "section": "channels",
        },
        status=status,
    )


def _channels_refused(request: HttpRequest, error: DomainError) -> HttpResponse:
    return _render_channels(request, error=error, status=error.status)


@require_safe
@member_required
def settings_home(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect(reverse("web:settings_channels"))


@require_safe
@member_required
def access_channels(request: HttpRequest) -> HttpResponse:
    """R-W4: the web and mobile channel states and what can be done with the mobile one."""
    return _render_channels(request)


@require_http_methods(["GET", "POST"])
@member_required
@reshow_on_error(_channels_refused)
def deactivate_mobile(request: HttpRequest) -> HttpResponse:
    """R-W4, R-M7: a confirmation page, then any state → DISABLED."""
    if request.method == "GET":
        return render(request, "web/settings/deactivate.html", {"section": "channels"})
    deactivate_mobile_channel(member_of(request), context_of(request))
    request.session.pop(PENDING_PASSWORD, None)
    set_settings_notice(request, "channel_deactivated")
    return HttpResponseRedirect(reverse("web:settings_channels"))


def _render_password(
    request: HttpRequest,
    flow: str,
    form: MobilePasswordForm | None = None,
    error: DomainError | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "web/settings/mobile_password.html",
        {
            "flow": FLOWS[flow],
            "form": form or MobilePasswordForm(),
            "error": error,
            "problems": error.problems if isinstance(error, PasswordRejected) else None,
            # Before the form is sent, say whether the step is possible in this state at all.
            "overview": mobile_channel_overview(member_of(request))
            if request.method == "GET"
            else None,
            "section": "app" if flow == "app" else "channels",
        },
        status=status,
    )


def _password_step(request: HttpRequest, flow: str) -> HttpResponse:
    if request.method == "GET":
        return _render_password(request, flow)
    form = MobilePasswordForm(request.POST)
    if not form.is_valid():
        return _render_password(request, flow, form=form, status=400)
    otp_id = FLOWS[flow]["request"](
        member_of(request),
        form.cleaned_data["new_password"],
        form.cleaned_data["repeated"],
        context_of(request),
    )
    request.session[PENDING_PASSWORD] = {"flow": flow, "otp_id": otp_id}
    return HttpResponseRedirect(reverse(FLOWS[flow]["code_url"]))


def _render_code(
    request: HttpRequest,
    flow: str,
    form: CodeForm | None = None,
    error: DomainError | None = None,
    status: int = 200,
) -> HttpResponse:
    restart = isinstance(error, OtpExpired | OtpAttemptsExhausted)
    if restart:
        request.session.pop(PENDING_PASSWORD, None)
    return render(
        request,
        "web/settings/mobile_code.html",
        {
            "flow": FLOWS[flow],
            "form": form or CodeForm(),
            "error": error,
            "attempts_left": error.details.get("attempts_left") if error else None,
            "restart": restart,
            "section": "app" if flow == "app" else "channels",
        },
        status=status,
    )


def _code_step(request: HttpRequest, flow: str) -> HttpResponse:
    pending = request.session.get(PENDING_PASSWORD)
    if not pending or pending.get("flow") != flow:
        return HttpResponseRedirect(reverse(FLOWS[flow]["password_url"]))
    if request.method == "GET":
        return _render_code(request, flow)
    form = CodeForm(request.POST)
    if not form.is_valid():
        return _render_code(request, flow, form=form, status=400)
    FLOWS[flow]["confirm"](
        member_of(request), int(pending["otp_id"]), form.cleaned_data["code"], context_of(request)
    )
    request.session.pop(PENDING_PASSWORD, None)
    set_settings_notice(request, FLOWS[flow]["done"])
    return HttpResponseRedirect(reverse("web:settings_channels"))


def _channel_password_refused(request: HttpRequest, error: DomainError) -> HttpResponse:
    return _render_password(request, "channel", error=error, status=error.status)


def _channel_code_refused(request: HttpRequest, error: DomainError) -> HttpResponse:
    return _render_code(request, "channel", error=error, status=error.status)


def _app_password_refused(request: HttpRequest, error: DomainError) -> HttpResponse:
    return _render_password(request, "app", error=error, status=error.status)


def _app_code_refused(request: HttpRequest, error: DomainError) -> HttpResponse:
    return _render_code(request, "app", error=error, status=error.status)


@require_http_methods(["GET", "POST"])
@member_required
@reshow_on_error(_channel_password_refused)
def activate_channel(request: HttpRequest) -> HttpResponse:
    """R-W4 step 1: define the mobile-app password (every broken rule listed, R-P2)."""
    return _password_step(request, "channel")


@require_http_methods(["GET", "POST"])
@member_required
@reshow_on_error(_channel_code_refused)
def activate_channel_code(request: HttpRequest) -> HttpResponse:
    """R-W4 step 2: the SMS code; DISABLED → PENDING."""
    return _code_step(request, "channel")


@require_http_methods(["GET", "POST"])
@member_required
@reshow_on_error(_app_password_refused)
def activate_app(request: HttpRequest) -> HttpResponse:
    """R-W5 step 1: a new mobile-app password; the only way to unblock the mobile app."""
    return _password_step(request, "app")


@require_http_methods(["GET", "POST"])
@member_required
@reshow_on_error(_app_code_refused)
def activate_app_code(request: HttpRequest) -> HttpResponse:
    """R-W5 step 2: the SMS code; → PENDING, the app can be activated again."""
    return _code_step(request, "app")
