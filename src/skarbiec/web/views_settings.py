"""Settings of the internet service: access channels, *Activate mobile app*, devices, security
events (R-W4, R-W5, R-W6).

Views read the form, call one service of skarbiec.channels.services.mobile and render the result;
the rules (which transitions are allowed, password rules, codes) live there. Between the password
step and the SMS code step only the id of the code is kept in the session.
"""

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from skarbiec.audit.queries import member_security_events
from skarbiec.channels.lifecycle import deactivate_mobile_channel, remove_mobile_device
from skarbiec.channels.mobile.app_password import (
    confirm_mobile_app_reactivation,
    confirm_mobile_channel_activation,
    request_mobile_app_reactivation,
    request_mobile_channel_activation,
)
from skarbiec.channels.queries import mobile_channel_overview
from skarbiec.channels.web.password import confirm_web_password_change, request_web_password_change
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError
from skarbiec.core.http import request_context
from skarbiec.members.errors import PasswordRejected
from skarbiec.otp.errors import OtpAttemptsExhausted, OtpExpired
from skarbiec.web import member_session
from skarbiec.web.decorators import member_required

# Session key of the code step: {"flow": "channel"|"app", "otp_id": int}.
PENDING_PASSWORD = "settings_pending_mobile_password"
# Session key of the web password change's code step: the id of the SMS code.
PENDING_WEB_PASSWORD = "settings_pending_web_password"
NOTICE = "settings_notice"

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


class MobilePasswordForm(forms.Form):
    new_password = forms.CharField(label=_("New mobile-app password"), max_length=128, strip=False)
    repeated = forms.CharField(label=_("Repeat the password"), max_length=128, strip=False)


class CodeForm(forms.Form):
    code = forms.CharField(label=_("SMS code"), max_length=16)


def _ctx(request: HttpRequest) -> RequestContext:
    return request_context(request, "web")


def _member(request: HttpRequest) -> Any:
    return request.member  # type: ignore[attr-defined]


def _pop_notice(request: HttpRequest) -> str | None:
    return request.session.pop(NOTICE, None)


def _render_channels(
    request: HttpRequest, error: DomainError | None = None, status: int = 200
) -> HttpResponse:
    member = _member(request)
    return render(
        request,
        "web/settings/channels.html",
        {
            "overview": mobile_channel_overview(member),
            "web_state": member.web_channel.state,
            "error": error,
            "settings_notice": _pop_notice(request) if error is None else None,
            "section": "channels",
        },
        status=status,
    )


@require_GET
@member_required
def settings_home(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect(reverse("web:settings_channels"))


@require_GET
@member_required
def access_channels(request: HttpRequest) -> HttpResponse:
    """R-W4: the web and mobile channel states and what can be done with the mobile one."""
    return _render_channels(request)


@require_http_methods(["GET", "POST"])
@member_required
def deactivate_mobile(request: HttpRequest) -> HttpResponse:
    """R-W4, R-M7: a confirmation page, then any state → DISABLED."""
    if request.method == "GET":
        return render(request, "web/settings/deactivate.html", {"section": "channels"})
    try:
        deactivate_mobile_channel(_member(request), _ctx(request))
    except DomainError as e:
        return _render_channels(request, error=e, status=e.status)
    request.session.pop(PENDING_PASSWORD, None)
    request.session[NOTICE] = "channel_deactivated"
    return HttpResponseRedirect(reverse("web:settings_channels"))


def _render_password(
    request: HttpRequest,
    flow: str,
    form: MobilePasswordForm | None = None,
    error: DomainError | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "web/settings/mobile_password.html",
        {
            "flow": FLOWS[flow],
            "form": form or MobilePasswordForm(),
            "error": error,
            "problems": problems,
            # Before the form is sent, say whether the step is possible in this state at all.
            "overview": mobile_channel_overview(_member(request))
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
    try:
        otp_id = FLOWS[flow]["request"](
            _member(request),
            form.cleaned_data["new_password"],
            form.cleaned_data["repeated"],
            _ctx(request),
        )
    except PasswordRejected as e:
        return _render_password(request, flow, error=e, problems=e.problems, status=e.status)
    except DomainError as e:
        return _render_password(request, flow, error=e, status=e.status)
    request.session[PENDING_PASSWORD] = {"flow": flow, "otp_id": otp_id}
    return HttpResponseRedirect(reverse(FLOWS[flow]["code_url"]))


def _render_code(
    request: HttpRequest,
    flow: str,
    form: CodeForm | None = None,
    error: DomainError | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "web/settings/mobile_code.html",
        {
            "flow": FLOWS[flow],
            "form": form or CodeForm(),
            "error": error,
            "attempts_left": error.details.get("attempts_left") if error else None,
            "restart": isinstance(error, OtpExpired | OtpAttemptsExhausted),
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
    try:
        FLOWS[flow]["confirm"](
            _member(request), int(pending["otp_id"]), form.cleaned_data["code"], _ctx(request)
        )
    except (OtpExpired, OtpAttemptsExhausted) as e:
        request.session.pop(PENDING_PASSWORD, None)
        return _render_code(request, flow, error=e, status=e.status)
    except DomainError as e:
        return _render_code(request, flow, error=e, status=e.status)
    request.session.pop(PENDING_PASSWORD, None)
    request.session[NOTICE] = FLOWS[flow]["done"]
    return HttpResponseRedirect(reverse("web:settings_channels"))


@require_http_methods(["GET", "POST"])
@member_required
def activate_channel(request: HttpRequest) -> HttpResponse:
    """R-W4 step 1: define the mobile-app password (every broken rule listed, R-P2)."""
    return _password_step(request, "channel")


@require_http_methods(["GET", "POST"])
@member_required
def activate_channel_code(request: HttpRequest) -> HttpResponse:
    """R-W4 step 2: the SMS code; DISABLED → PENDING."""
    return _code_step(request, "channel")


@require_http_methods(["GET", "POST"])
@member_required
def activate_app(request: HttpRequest) -> HttpResponse:
    """R-W5 step 1: a new mobile-app password; the only way to unblock the mobile app."""
    return _password_step(request, "app")


@require_http_methods(["GET", "POST"])
@member_required
def activate_app_code(request: HttpRequest) -> HttpResponse:
    """R-W5 step 2: the SMS code; → PENDING, the app can be activated again."""
    return _code_step(request, "app")


def _render_devices(
    request: HttpRequest, error: DomainError | None = None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "web/settings/devices.html",
        {
            "overview": mobile_channel_overview(_member(request)),
            "error": error,
            "settings_notice": _pop_notice(request) if error is None else None,
            "section": "devices",
        },
        status=status,
    )


@require_GET
@member_required
def devices(request: HttpRequest) -> HttpResponse:
    """R-W6: the bound device (name, system, activated, last used)."""
    return _render_devices(request)


@require_POST
@member_required
def remove_device(request: HttpRequest, device_id: str) -> HttpResponse:
    """R-W6: unbind the device."""
    try:
        remove_mobile_device(_member(request), device_id, _ctx(request))
    except DomainError as e:
        return _render_devices(request, error=e, status=e.status)
    request.session[NOTICE] = "device_removed"
    return HttpResponseRedirect(reverse("web:settings_devices"))


@require_GET
@member_required
def security_events(request: HttpRequest) -> HttpResponse:
    """R-W6: recent logins, failures and blocks of the member."""
    return render(
        request,
        "web/settings/security_events.html",
        {"events": member_security_events(_member(request).pk), "section": "events"},
    )


class WebPasswordForm(forms.Form):
    current_password = forms.CharField(label=_("Current password"), max_length=128, strip=False)
    new_password = forms.CharField(label=_("New password"), max_length=128, strip=False)
    repeated = forms.CharField(label=_("Repeat the new password"), max_length=128, strip=False)


def _render_web_password(
    request: HttpRequest,
    form: WebPasswordForm | None = None,
    error: DomainError | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "web/settings/web_password.html",
        {
            "form": form or WebPasswordForm(),
            "error": error,
            "problems": problems,
            "attempts_left": error.details.get("attempts_left") if error else None,
            "settings_notice": _pop_notice(request) if error is None else None,
            "section": "password",
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@member_required
def change_web_password(request: HttpRequest) -> HttpResponse:
    """R-O1 step 1: the current password and a new one (every broken rule listed, R-P1, R-P2)."""
    if request.method == "GET":
        return _render_web_password(request)
    form = WebPasswordForm(request.POST)
    if not form.is_valid():
        return _render_web_password(request, form=form, status=400)
    try:
        otp_id = request_web_password_change(
            _member(request),
            form.cleaned_data["current_password"],
            form.cleaned_data["new_password"],
            form.cleaned_data["repeated"],
            _ctx(request),
        )
    except PasswordRejected as e:
        return _render_web_password(request, error=e, problems=e.problems, status=e.status)
    except DomainError as e:
        # A third wrong current password blocks the channel: the next request ends the session.
        return _render_web_password(request, error=e, status=e.status)
    request.session[PENDING_WEB_PASSWORD] = otp_id
    return HttpResponseRedirect(reverse("web:settings_password_code"))


def _render_web_password_code(
    request: HttpRequest,
    form: CodeForm | None = None,
    error: DomainError | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "web/settings/web_password_code.html",
        {
            "form": form or CodeForm(),
            "error": error,
            "attempts_left": error.details.get("attempts_left") if error else None,
            "restart": isinstance(error, OtpExpired | OtpAttemptsExhausted),
            "section": "password",
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@member_required
def change_web_password_code(request: HttpRequest) -> HttpResponse:
    """R-O1 step 2: the SMS code; the new password replaces the old one, other sessions end."""
    otp_id = request.session.get(PENDING_WEB_PASSWORD)
    if not isinstance(otp_id, int):
        return HttpResponseRedirect(reverse("web:settings_password"))
    if request.method == "GET":
        return _render_web_password_code(request)
    form = CodeForm(request.POST)
    if not form.is_valid():
        return _render_web_password_code(request, form=form, status=400)
    try:
        generation = confirm_web_password_change(
            _member(request), otp_id, form.cleaned_data["code"], _ctx(request)
        )
    except (OtpExpired, OtpAttemptsExhausted) as e:
        request.session.pop(PENDING_WEB_PASSWORD, None)
        return _render_web_password_code(request, error=e, status=e.status)
    except DomainError as e:
        return _render_web_password_code(request, error=e, status=e.status)
    request.session.pop(PENDING_WEB_PASSWORD, None)
    member_session.keep_session_after_password_change(request, generation)
    request.session[NOTICE] = "web_password_changed"
    return HttpResponseRedirect(reverse("web:settings_password"))
