"""Sessions of the app (R-M9): opaque bearer tokens stored as keyed hashes, sliding idle
expiry and an absolute limit.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet

from skarbiec.channels.errors import (
    MobileChannelBlocked,
    MobileNotAuthenticated,
    SessionExpired,
)
from skarbiec.channels.mobile.state import record_member_event
from skarbiec.channels.models import (
    MobileChannel,
    MobileDevice,
    MobileSession,
)
from skarbiec.core import clock
from skarbiec.core.context import RequestContext
from skarbiec.core.keys import keyed_hash
from skarbiec.core.prepared import Update, insert_new, prepared_select, prepared_update
from skarbiec.members.models import Member


@dataclass(frozen=True)
class MobileSessionToken:
    token: str  # shown once; only its keyed hash is stored
    device_id: str
    idle_timeout_seconds: int
    absolute_expires_at: datetime


@dataclass(frozen=True)
class MobileSessionInfo:
    session_id: int
    member: Member
    device: MobileDevice
    idle_expires_at: datetime
    absolute_expires_at: datetime
    opened_at: datetime
    opened_with_pin: bool


SLIDE_WRITE_INTERVAL = timedelta(seconds=5)


def _token_hash(token: str) -> str:
    return keyed_hash("mobile-session", token)


@prepared_select
def _session_by_token_hash(token_hash: str) -> QuerySet[MobileSession]:
    # Prepared: every authenticated call of the app runs it (see core/prepared.py).
    return MobileSession.objects.select_related("member__credit_union", "device").filter(
        token_hash=token_hash
    )


@prepared_update
def _slide(session_id: int, now: datetime) -> Update:
    return MobileSession.objects.filter(pk=session_id), {"last_seen_at": now}


def open_session(
    member: Member, device: MobileDevice, *, with_pin: bool = False
) -> MobileSessionToken:
    policy = member.credit_union
    token = secrets.token_urlsafe(32)
    now = clock.now()
    absolute = now + timedelta(seconds=policy.session_absolute_seconds)
    insert_new(
        MobileSession(
            token_hash=_token_hash(token),
            member=member,
            device=device,
            created_at=now,
            last_seen_at=now,
            absolute_expires_at=absolute,
            opened_with_pin=with_pin,
        )
    )
    return MobileSessionToken(token, device.device_id, policy.idle_timeout_seconds, absolute)


def authenticate_mobile_session(token: str, slide: bool = True) -> MobileSessionInfo:
    """The member behind a bearer token. Idle expiry is sliding: each authenticated request
    moves it, unless `slide` is False (the session check must not keep a session alive)."""
    if not token or len(token) > 200:
        raise MobileNotAuthenticated()
    session = _session_by_token_hash.first(token_hash=_token_hash(token))
    if session is None:
        raise MobileNotAuthenticated()
    member = session.member
    if session.revoked_at is not None:
        # "Blocked" only while it is: once the member unblocked the app in the web, the token
        # of before is simply no longer valid.
        if (
            session.revoke_reason == "channel_blocked"
            and MobileChannel.objects.filter(
                member=member, state=MobileChannel.State.BLOCKED
            ).exists()
        ):
            raise MobileChannelBlocked.of(member.credit_union)
        if session.revoke_reason == "timeout":
            raise SessionExpired.of(
                member.credit_union, session.revoked_at >= session.absolute_expires_at
            )
        raise MobileNotAuthenticated()
    idle = timedelta(seconds=member.credit_union.idle_timeout_seconds)
    now = clock.now()
    if now - session.last_seen_at >= idle or now >= session.absolute_expires_at:
        MobileSession.objects.filter(pk=session.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoke_reason="timeout"
        )
        raise SessionExpired.of(member.credit_union, now >= session.absolute_expires_at)
    # The sliding expiry is written at most every few seconds: a burst of calls costs one
    # write, and the session can only end those seconds earlier, never later (R-M9).
    if slide and now - session.last_seen_at >= SLIDE_WRITE_INTERVAL:
        _slide.run(session_id=session.pk, now=now)
        session.last_seen_at = now
    return MobileSessionInfo(
        session_id=session.pk,
        member=member,
        device=session.device,
        idle_expires_at=min(session.last_seen_at + idle, session.absolute_expires_at),
        absolute_expires_at=session.absolute_expires_at,
        opened_at=session.created_at,
        opened_with_pin=session.opened_with_pin,
    )


def logout_mobile_session(session: MobileSessionInfo, ctx: RequestContext) -> None:
    with transaction.atomic():
        MobileSession.objects.filter(pk=session.session_id, revoked_at__isnull=True).update(
            revoked_at=clock.now(), revoke_reason="logout"
        )
        record_member_event("mobile_logout", session.member, ctx, device=session.device.device_id)


def session_started_at(session_id: int) -> datetime:
    """When the app's current session was opened (its login): the start page shows the login
    before it."""
    return MobileSession.objects.values_list("created_at", flat=True).get(pk=session_id)
