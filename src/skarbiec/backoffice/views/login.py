"""Staff login pages (R-B1): password, then the authenticator (enrolled at the first login)."""

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from skarbiec.backoffice import session as staff_session
from skarbiec.backoffice.login import (
    StaffLoggedIn,
    check_staff_code,
    check_staff_password,
    check_staff_recovery_code,
    enrolment_for,
    record_staff_logout,
)
from skarbiec.backoffice.views.access import current_staff, form_page, staff_required
from skarbiec.core.http import request_context

RECOVERY_CODES_ONCE = "staff_recovery_codes_once"

NOTICES = {
    "idle": _("You were logged out after a few minutes without activity."),
    "absolute": _("Your session reached its time limit. Log in again."),
    "locked": _("This staff account is locked."),
    "gone": _("Your session has ended. Log in again."),
    "logged_out": _("You have logged out."),
    "expired": _("The login has expired. Start again with your username and password."),
}


class PasswordForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(label=_("Password"), max_length=128, widget=forms.PasswordInput)


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=_("Code from the authenticator app"),
        regex=r"^\s*[0-9]{6}\s*$",
        max_length=12,
        error_messages={"invalid": _("Enter the 6 digits shown in the app.")},
    )


class RecoveryForm(forms.Form):
    code = forms.CharField(label=_("Recovery code"), max_length=32)


def _notice(request: HttpRequest) -> Any:
    key = staff_session.pop_notice(request)
    return NOTICES.get(key) if key else None


@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    if getattr(request, "staff", None) is not None:
        return HttpResponseRedirect(reverse("backoffice:home"))
    notice = _notice(request) if request.method == "GET" else None

    def action(data: dict[str, Any]) -> HttpResponse:
        ctx = request_context(request, "backoffice")
        accepted = check_staff_password(data["username"], data["password"], ctx)
        staff_session.start_pending(
            request, accepted.staff_id, accepted.needs_enrolment, accepted.stamp
        )
        step = "backoffice:enrol" if accepted.needs_enrolment else "backoffice:code"
        return HttpResponseRedirect(reverse(step))

    form = PasswordForm(request.POST if request.method == "POST" else None)
    return form_page(request, "backoffice/login.html", form, action, {"notice": notice})


def _pending_or_restart(request: HttpRequest) -> dict[str, Any] | None:
    data = staff_session.pending(request)
    if data is None:
        staff_session.drop_stale_pending(request)
    return data


def _logged_in(request: HttpRequest, done: StaffLoggedIn, codes: list[str]) -> HttpResponse:
    staff_session.start_staff_session(request, done.staff_id, done.credentials)
    if codes:
        request.session[RECOVERY_CODES_ONCE] = codes
        return HttpResponseRedirect(reverse("backoffice:recovery_codes"))
    return HttpResponseRedirect(reverse("backoffice:home"))


@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest) -> HttpResponse:
    data = _pending_or_restart(request)
    if data is None or not data.get("enrol"):
        return HttpResponseRedirect(reverse("backoffice:login"))
    staff_id = int(data["staff_id"])
    enrolment = enrolment_for(staff_id, data["stamp"])

    def action(cleaned: dict[str, Any]) -> HttpResponse:
        ctx = request_context(request, "backoffice")
        done = check_staff_code(staff_id, cleaned["code"], data["stamp"], ctx)
        return _logged_in(request, done, done.recovery_codes)

    form = CodeForm(request.POST if request.method == "POST" else None)
    return form_page(request, "backoffice/enrol.html", form, action, {"enrolment": enrolment})


@require_http_methods(["GET", "POST"])
def code(request: HttpRequest) -> HttpResponse:
    data = _pending_or_restart(request)
    if data is None:
        return HttpResponseRedirect(reverse("backoffice:login"))
    if data.get("enrol"):
        return HttpResponseRedirect(reverse("backoffice:enrol"))
    staff_id = int(data["staff_id"])

    def action(cleaned: dict[str, Any]) -> HttpResponse:
        ctx = request_context(request, "backoffice")
        done = check_staff_code(staff_id, cleaned["code"], data["stamp"], ctx)
        return _logged_in(request, done, [])

    form = CodeForm(request.POST if request.method == "POST" else None)
    return form_page(request, "backoffice/code.html", form, action)


@require_http_methods(["GET", "POST"])
def recovery(request: HttpRequest) -> HttpResponse:
    data = _pending_or_restart(request)
    if data is None or data.get("enrol"):
        return HttpResponseRedirect(reverse("backoffice:login"))
    staff_id = int(data["staff_id"])

    def action(cleaned: dict[str, Any]) -> HttpResponse:
        ctx = request_context(request, "backoffice")
        done = check_staff_recovery_code(staff_id, cleaned["code"], data["stamp"], ctx)
        return _logged_in(request, done, [])

    form = RecoveryForm(request.POST if request.method == "POST" else None)
    return form_page(request, "backoffice/recovery.html", form, action)


@staff_required()
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """The ten recovery codes, once: the session forgets them as they are shown."""
    codes = request.session.pop(RECOVERY_CODES_ONCE, None)
    if not codes:
        return HttpResponseRedirect(reverse("backoffice:home"))
    return render(request, "backoffice/recovery_codes.html", {"codes": codes})


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    staff = getattr(request, "staff", None)
    if staff is not None:
        record_staff_logout(staff, "logout", request_context(request, "backoffice"))
    staff_session.end_staff_session(request, "logged_out")
    return HttpResponseRedirect(reverse("backoffice:login"))


@staff_required()
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "backoffice/home.html", {"staff": current_staff(request)})
