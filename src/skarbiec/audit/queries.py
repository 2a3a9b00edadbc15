"""What the member sees of the audit log: Settings → Security events (R-W6)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils.translation import gettext_lazy

from skarbiec.audit.models import AuditEvent

# The audit events a member recognises as logins, failures and blocks, with their labels; other
# events (codes issued, orders) belong to other pages or only to the staff.
SECURITY_EVENT_LABELS: dict[str, Any] = {
    "web_login": gettext_lazy("Login to the internet service"),
    "web_login_failed": gettext_lazy("Failed login to the internet service"),
    "web_channel_blocked": gettext_lazy("Internet service blocked"),
    "web_channel_unblocked": gettext_lazy("Internet service unblocked by the credit union"),
    "temporary_password_renewed": gettext_lazy(
        "New temporary password to the internet service sent by the credit union"
    ),
    "web_password_changed": gettext_lazy("Internet service password changed"),
    "web_password_change_failed": gettext_lazy(
        "Failed attempt to change the internet service password"
    ),
    "mobile_login": gettext_lazy("Login to the mobile app"),
    "mobile_login_failed": gettext_lazy("Failed login to the mobile app"),
    "mobile_activation_failed": gettext_lazy("Wrong mobile-app password at activation"),
    "mobile_channel_blocked": gettext_lazy("Mobile app blocked"),
    "mobile_channel_activated": gettext_lazy("Mobile app channel activated"),
    "mobile_app_reactivated": gettext_lazy("Mobile app unblocked with a new password"),
    "mobile_channel_deactivated": gettext_lazy("Mobile app channel deactivated"),
    "mobile_device_activated": gettext_lazy("Mobile app activated on a device"),
    "mobile_device_refused": gettext_lazy("Device refused by the mobile app policy"),
    "mobile_device_removed": gettext_lazy("Device removed"),
    "mobile_pin_set": gettext_lazy("PIN set in the mobile app"),
    "mobile_fingerprint_registered": gettext_lazy("Fingerprint login enabled"),
}


_FAILURE_EVENTS = frozenset(
    {"web_login_failed", "web_password_change_failed", "mobile_login_failed",
     "mobile_activation_failed", "mobile_device_refused"}
)  # fmt: skip


_BLOCK_EVENTS = frozenset({"web_channel_blocked", "mobile_channel_blocked"})


_METHOD_LABELS: dict[str, Any] = {
    "pin": gettext_lazy("PIN"),
    "fingerprint": gettext_lazy("fingerprint"),
}


@dataclass(frozen=True)
class SecurityEvent:
    at: datetime
    event: str
    label: str
    kind: str  # "ok", "failure" or "block": how the page marks it
    channel: str
    ip_address: str
    detail: str


def member_security_events(member_id: int, limit: int = 50) -> list[SecurityEvent]:
    """The member's recent logins, failures and blocks, newest first (R-W6)."""
    rows = AuditEvent.objects.filter(member_id=member_id, event__in=SECURITY_EVENT_LABELS).order_by(
        "-created_at", "-pk"
    )[: max(1, min(limit, 200))]
    events = []
    for row in rows:
        data = row.data or {}
        method = _METHOD_LABELS.get(str(data.get("method", "")))
        kind = (
            "block"
            if row.event in _BLOCK_EVENTS
            else "failure"
            if row.event in _FAILURE_EVENTS
            else "ok"
        )
        events.append(
            SecurityEvent(
                at=row.created_at,
                event=row.event,
                label=str(SECURITY_EVENT_LABELS[row.event]),
                kind=kind,
                channel=row.channel,
                ip_address=row.ip_address,
                detail=str(method) if method else "",
            )
        )
    return events


# Setting the PIN right after activation opens the app's first session: a login too.
LOGIN_EVENTS = ("web_login", "mobile_login", "mobile_pin_set")


@dataclass(frozen=True)
class PreviousLogin:
    at: datetime
    channel: str  # "web" or "mobile"
    ip_address: str
    device: str


# The current login's own event is written within moments of its session's start (before it in
# the app, after it in the web); the event nearest to the start inside this margin is it.
_CURRENT_LOGIN_MARGIN = timedelta(seconds=2)


def previous_login(member_id: int, session_started_at: datetime) -> PreviousLogin | None:
    """The member's login in either channel before the one that opened the current session,
    shown on the start page so a login they did not make stands out. None only when the audit
    log holds no earlier login at all."""
    rows = list(
        AuditEvent.objects.filter(
            member_id=member_id,
            event__in=LOGIN_EVENTS,
            created_at__lte=session_started_at + _CURRENT_LOGIN_MARGIN,
        ).order_by("-created_at", "-pk")[:2]
    )
    if rows and rows[0].created_at >= session_started_at - _CURRENT_LOGIN_MARGIN:
        rows = rows[1:]  # the current login itself
    if not rows:
        return None
    row = rows[0]
    return PreviousLogin(
        at=row.created_at,
        channel="web" if row.event == "web_login" else "mobile",
        ip_address=row.ip_address,
        device=device_summary(row.device),
    )


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
             ("Chrome/", "Chrome"), ("Safari/", "Safari"))  # fmt: skip
_SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iOS"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("Linux", "Linux"))  # fmt: skip


def device_summary(user_agent: str) -> str:
    """ "Chrome, Android" from a browser's User-Agent; the text itself (shortened) when it names
    no known browser (the mobile app sends its own name)."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "")
    if browser or system:
        return ", ".join(part for part in (browser, system) if part)
    return user_agent.strip()[:60]
