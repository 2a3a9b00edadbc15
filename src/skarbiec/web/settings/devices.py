"""Settings → Devices and Security events (R-W6)."""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from skarbiec.audit.queries import member_security_events
from skarbiec.channels.lifecycle import remove_mobile_device
from skarbiec.channels.queries import mobile_channel_overview
from skarbiec.core.errors import DomainError
from skarbiec.web.decorators import member_required
from skarbiec.web.errors import reshow_on_error
from skarbiec.web.request import context_of, member_of
from skarbiec.web.settings.notices import pop_settings_notice, set_settings_notice


def _render_devices(
    request: HttpRequest, error: DomainError | None = None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "web/settings/devices.html",
        {
            "overview": mobile_channel_overview(member_of(request)),
            "error": error,
            "settings_notice": pop_settings_notice(request) if error is None else None,
            "section": "devices",
        },
        status=status,
    )


def _devices_refused(request: HttpRequest, error: DomainError, device_id: str) -> HttpResponse:
    return _render_devices(request, error=error, status=error.status)


@require_safe
@member_required
def devices(request: HttpRequest) -> HttpResponse:
    """R-W6: the bound device (name, system, activated, last used)."""
    return _render_devices(request)


@require_POST
@member_required
@reshow_on_error(_devices_refused)
def remove_device(request: HttpRequest, device_id: str) -> HttpResponse:
    """R-W6: unbind the device."""
    remove_mobile_device(member_of(request), device_id, context_of(request))
    set_settings_notice(request, "device_removed")
    return HttpResponseRedirect(reverse("web:settings_devices"))


@require_safe
@member_required
def security_events(request: HttpRequest) -> HttpResponse:
    """R-W6: recent logins, failures and blocks of the member."""
    return render(
        request,
        "web/settings/security_events.html",
        {"events": member_security_events(member_of(request).pk), "section": "events"},
    )
