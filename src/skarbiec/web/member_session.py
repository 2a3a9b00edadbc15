"""What the web session holds for a member, and the limits on it (R-W1, R-W3).

The session lives in the database (R-X3). Times are epoch seconds from skarbiec.core.clock so
tests can cross the limits with clock.advance().
"""

import math
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse

from skarbiec.channels.models import WebChannel
from skarbiec.channels.web.known_browsers import KNOWN_FOR_SECONDS, remember_browser
from skarbiec.channels.web.login import PendingWebLogin
from skarbiec.core import clock
from skarbiec.members.models import Member

MEMBER_ID = "member_id"
AUTHENTICATED_AT = "authenticated_at"
LAST_SEEN = "last_seen"
PENDING_LOGIN = "pending_login"
TEMPORARY_TYPED = "temporary_typed"
# A one-shot note for the next page: why the session ended, a code was resent, ...
NOTICE = "notice"
# The web channel's session generation at login; a password change raises the channel's and
# so ends every other session of the member.
SESSION_GENERATION = "session_generation"


def now_ts() -> float:
    return clock.now().timestamp()


def store_pending_login(request: HttpRequest, pending: PendingWebLogin) -> None:
    request.session[PENDING_LOGIN] = {
        "member_id": pending.member_id,
        "otp_id": pending.otp_id,
        "attempts_left": pending.code_attempts,
        "known_browser": pending.known_browser,
        "session_generation": pending.session_generation,
        "temporary_typed": pending.temporary_typed,
    }


def pending_code_attempts(request: HttpRequest) -> int | None:
    data = request.session.get(PENDING_LOGIN)
    return data.get("attempts_left") if isinstance(data, dict) else None


def note_code_attempts_left(request: HttpRequest, attempts_left: int) -> None:
    data = request.session.get(PENDING_LOGIN)
    if isinstance(data, dict):
        data["attempts_left"] = attempts_left
        request.session[PENDING_LOGIN] = data


def pending_login(request: HttpRequest) -> PendingWebLogin | None:
    data = request.session.get(PENDING_LOGIN)
    if not isinstance(data, dict):
        return None
    try:
        return PendingWebLogin(
            member_id=int(data["member_id"]),
            otp_id=int(data["otp_id"]),
            code_attempts=int(data.get("attempts_left", 3)),
            known_browser=data.get("known_browser") is True,
            session_generation=int(data["session_generation"]),
            temporary_typed=str(data.get("temporary_typed") or ""),
        )
    except (KeyError, TypeError, ValueError):
        return None


def cancel_pending_login(request: HttpRequest) -> None:
    request.session.pop(PENDING_LOGIN, None)


def start_member_session(
    request: HttpRequest, member: Member, generation: int, temporary_typed: str = ""
) -> None:
    """Both factors passed: a new session key (no fixation), the member and the clock start.
    `generation` is the channel's session generation the login's password passed: a password
    changed since ends the session at its first request."""
    request.session.cycle_key()
    cancel_pending_login(request)
    # The login time the service recorded: the start page looks for logins before it.
    channel = WebChannel.objects.get(member=member)
    logged_in_at = channel.last_login_at
    now = now_ts()
    request.session[SESSION_GENERATION] = generation
    if temporary_typed:
        request.session[TEMPORARY_TYPED] = temporary_typed
    request.session[MEMBER_ID] = member.pk
    request.session[AUTHENTICATED_AT] = logged_in_at.timestamp() if logged_in_at else now
    request.session[LAST_SEEN] = now


def session_started_at(request: HttpRequest) -> datetime:
    return datetime.fromtimestamp(float(request.session[AUTHENTICATED_AT]), tz=UTC)


def end_member_session(request: HttpRequest, notice: dict[str, Any] | None = None) -> None:
    """Forget everything of the session (new key), keeping only a note for the login page."""
    request.session.flush()
    if notice:
        request.session[NOTICE] = notice


def set_notice(request: HttpRequest, notice: dict[str, Any]) -> None:
    request.session[NOTICE] = notice


def pop_notice(request: HttpRequest) -> dict[str, Any] | None:
    notice = request.session.pop(NOTICE, None)
    return notice if isinstance(notice, dict) else None


def session_end_reason(member: Member | None, session: Any, now: float) -> str | None:
    """Why this session may not go on, or None. Checked on every request by the middleware."""
    if member is None:
        return "gone"
    policy = member.credit_union
    try:
        last_seen = float(session.get(LAST_SEEN))
        authenticated_at = float(session.get(AUTHENTICATED_AT))
    except (TypeError, ValueError):
        return "gone"
    if now - authenticated_at >= policy.session_absolute_seconds:
        return "absolute"
    if now - last_seen >= policy.idle_timeout_seconds:
        return "idle"
    channel = getattr(member, "web_channel", None)
    if channel is not None and channel.state == WebChannel.State.BLOCKED:
        return "blocked"
    if channel is not None and session.get(SESSION_GENERATION, 0) != channel.session_generation:
        return "password_changed_elsewhere"
    return None


def session_generation(request: HttpRequest) -> int:
    """The channel's session generation this session started under (or carried on with)."""
    return int(request.session.get(SESSION_GENERATION, 0))


def keep_session_after_password_change(request: HttpRequest, generation: int) -> None:
    """The session that changed the password goes on (with a new key); the others end."""
    request.session.cycle_key()
    request.session[SESSION_GENERATION] = generation
    request.session.pop(TEMPORARY_TYPED, None)


def typed_temporary_password(request: HttpRequest) -> str:
    """The digest of the temporary password this session's login accepted, if it was one."""
    return str(request.session.get(TEMPORARY_TYPED) or "")


def remaining_seconds(member: Member, session: Any, now: float) -> int:
    """Seconds until the session ends unless the member does something (idle or absolute)."""
    idle_left = float(session.get(LAST_SEEN, now)) + member.credit_union.idle_timeout_seconds - now
    return max(math.ceil(min(idle_left, _absolute_left(member, session, now))), 0)


def absolute_remaining_seconds(member: Member, session: Any, now: float) -> int:
    """Seconds until the session ends whatever the member does (R-W3)."""
    return max(math.ceil(_absolute_left(member, session, now)), 0)


def _absolute_left(member: Member, session: Any, now: float) -> float:
    started = float(session.get(AUTHENTICATED_AT, now))
    return started + member.credit_union.session_absolute_seconds - now


#: The browser's note of the Logins it logged in as (channels/web/known_browsers.py), sent to
#: the login pages only.
KNOWN_BROWSER_COOKIE = "skarbiec_browser"
KNOWN_BROWSER_PATH = "/login/"


def browser_note(request: HttpRequest) -> str | None:
    return request.COOKIES.get(KNOWN_BROWSER_COOKIE)


def remember_this_browser(request: HttpRequest, response: HttpResponse, member: Member) -> None:
    """Both factors passed in this browser: it is known for the member's Login (R-X10)."""
    response.set_cookie(
        KNOWN_BROWSER_COOKIE,
        remember_browser(browser_note(request), member.login),
        max_age=KNOWN_FOR_SECONDS,
        path=KNOWN_BROWSER_PATH,
        secure=True,
        httponly=True,
        samesite="Lax",
    )
