"""What the session holds for a staff member, and its limits (R-B1).

A staff session is marked by its own keys: a member's session (web) never carries them, so a
member never opens the back-office, and a staff session never carries the member's key, so it
never opens member pages. The idle limit is the member's (5 minutes, or less by the staff
member's credit union policy); an absolute limit applies too.
"""

from typing import Any

from django.http import HttpRequest
from django.utils.crypto import constant_time_compare, salted_hmac

from skarbiec.core import clock
from skarbiec.members.models import StaffProfile
from skarbiec.members.queries import policy_value

STAFF_ID = "staff_id"
STAFF_AUTHENTICATED_AT = "staff_authenticated_at"
STAFF_LAST_SEEN = "staff_last_seen"
# The credentials the session was opened with (`credentials_stamp`).
STAFF_CREDENTIALS = "staff_credentials"
# Password passed, the second factor still to come: {"staff_id", "at", "enrol"}.
STAFF_PENDING = "staff_pending"
STAFF_NOTICE = "staff_notice"
# The member session's key (skarbiec.web.member_session.MEMBER_ID; web sits above us).
MEMBER_ID = "member_id"

PENDING_SECONDS = 300


def now_ts() -> float:
    return clock.now().timestamp()


def _policy(profile: StaffProfile, field: str) -> int:
    return policy_value(profile.credit_union, field)


def idle_seconds(profile: StaffProfile) -> int:
    return min(_policy(profile, "idle_timeout_seconds"), 300)


def start_pending(request: HttpRequest, staff_id: int, needs_enrolment: bool, stamp: str) -> None:
    """Password passed: a new session key (no fixation), nothing else of any earlier session.
    `stamp` is the account's `password_stamp` as the password was accepted."""
    request.session.flush()
    request.session[STAFF_PENDING] = {
        "staff_id": staff_id,
        "at": now_ts(),
        "enrol": needs_enrolment,
        "stamp": stamp,
    }


def pending(request: HttpRequest) -> dict[str, Any] | None:
    data = request.session.get(STAFF_PENDING)
    if not isinstance(data, dict):
        return None
    try:
        if now_ts() - float(data["at"]) > PENDING_SECONDS:
            return None
        int(data["staff_id"])
        if not isinstance(data["stamp"], str):
            return None
    except (KeyError, TypeError, ValueError):
        return None
    return data


def drop_stale_pending(request: HttpRequest) -> None:
    """A login step opened without a login under way: a stale one (timed out, unreadable) is
    dropped with a notice. Nothing else of the session ends: the page may have been opened by
    a link or the back button in a session that holds a staff member's or a member's login."""
    if request.session.pop(STAFF_PENDING, None) is not None:
        request.session[STAFF_NOTICE] = "expired"


def password_stamp(profile: StaffProfile) -> str:
    """A keyed digest of the password hash and the session generation: a login that passed
    the password goes on to its second factor only while neither changed (an administrator's
    new password, a lock, a deactivation end it, R-B1)."""
    credentials = f"{profile.user.password}|{profile.session_generation}"
    return salted_hmac("skarbiec.backoffice.pending", credentials).hexdigest()


def credentials_stamp(profile: StaffProfile) -> str:
    """A keyed digest of the staff member's password hash, authenticator and session
    generation: an administrator resetting either, or locking, unlocking, deactivating or
    reactivating the account, ends the sessions opened before (R-B1)."""
    credentials = (
        f"{profile.user.password}|{profile.totp_secret}|{profile.totp_confirmed_at}"
        f"|{profile.session_generation}"
    )
    return salted_hmac("skarbiec.backoffice.session", credentials).hexdigest()


def start_staff_session(request: HttpRequest, staff_id: int, credentials: str) -> None:
    request.session.cycle_key()
    request.session.pop(STAFF_PENDING, None)
    now = now_ts()
    request.session[STAFF_ID] = staff_id
    request.session[STAFF_CREDENTIALS] = credentials
    request.session[STAFF_AUTHENTICATED_AT] = now
    request.session[STAFF_LAST_SEEN] = now


def end_staff_session(request: HttpRequest, notice: str | None = None) -> None:
    request.session.flush()
    if notice:
        request.session[STAFF_NOTICE] = notice


def pop_notice(request: HttpRequest) -> str | None:
    notice = request.session.pop(STAFF_NOTICE, None)
    return notice if isinstance(notice, str) else None


def session_end_reason(profile: StaffProfile | None, session: Any, now: float) -> str | None:
    if profile is None or not profile.user.is_active:
        return "gone"
    if profile.locked_at is not None:
        return "locked"
    stamp = session.get(STAFF_CREDENTIALS)
    if not isinstance(stamp, str) or not constant_time_compare(stamp, credentials_stamp(profile)):
        return "gone"
    try:
        last_seen = float(session.get(STAFF_LAST_SEEN))
        authenticated_at = float(session.get(STAFF_AUTHENTICATED_AT))
    except (TypeError, ValueError):
        return "gone"
    if now - authenticated_at >= _policy(profile, "session_absolute_seconds"):
        return "absolute"
    if now - last_seen >= idle_seconds(profile):
        return "idle"
    return None
