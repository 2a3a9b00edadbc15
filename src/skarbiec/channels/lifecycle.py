"""The state machines of SPEC §5, one function per transition, for both channels.

Web: ACTIVE ⇄ BLOCKED (only staff unblock, R-W2). Mobile: DISABLED → PENDING (password defined in
the web) → ACTIVE (device bound) → BLOCKED (failures) → PENDING (web reactivation, the only
unblock path); any state → DISABLED. Every transition writes its audit event.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from skarbiec.audit.services import record_event
from skarbiec.channels.enrolment import temporary_password_sms
from skarbiec.channels.errors import (
    ActivationOvertaken,
    DeviceNotBound,
    MobileChannelBlocked,
    MobileChannelDisabled,
    NotBlockedOnRequest,
    NoTemporaryPassword,
    WebChannelBlocked,
    WebChannelBlockedForRenewal,
    WebChannelNotBlocked,
)
from skarbiec.channels.mobile.state import (
    ACTIVATED_STATES,
    lock_member_and_mobile_channel,
    lock_mobile_channel,
    record_member_event,
)
from skarbiec.channels.models import (
    MobileChannel,
    MobileDevice,
    MobileSession,
    WebChannel,
)
from skarbiec.core import clock
from skarbiec.core.attempt_counts import cleared_counts, settled_failures
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError
from skarbiec.core.locks import for_update
from skarbiec.members.models import Member
from skarbiec.members.passwords import generate_temporary_password, temporary_password_fields
from skarbiec.otp.errors import OtpAttemptsExhausted
from skarbiec.otp.operations import (
    lock_members_codes,
    void_channel_confirmations,
    void_confirmation,
)
from skarbiec.otp.sms import queue_sms


@dataclass(frozen=True)
class BoundDevice:
    device_id: str
    pin_length: int


def revoke_sessions(member: Member, reason: str, device: MobileDevice | None = None) -> int:
    sessions = MobileSession.objects.filter(member=member, revoked_at__isnull=True)
    if device is not None:
        sessions = sessions.filter(device=device)
    return sessions.update(revoked_at=clock.now(), revoke_reason=reason)


def unbind_devices(member: Member, reason: str) -> list[str]:
    devices = list(
        MobileDevice.objects.filter(member=member, state=MobileDevice.State.ACTIVE).values_list(
            "device_id", flat=True
        )
    )
    MobileDevice.objects.filter(member=member, state=MobileDevice.State.ACTIVE).update(
        state=MobileDevice.State.REMOVED, removed_at=clock.now(), removed_reason=reason
    )
    return devices


def block_mobile_channel(member: Member, reason: str, ctx: RequestContext) -> None:
    """Any state → BLOCKED (a no-op when blocked already); revokes every session. Joins the
    caller's transaction (e.g. three wrong SMS codes authorising an order in the app, R-O4).
    A DISABLED channel is blocked too: three wrong activation attempts on it count like any
    others (R-X6), and the way out is the same (R-W5)."""
    with transaction.atomic():
        channel = lock_mobile_channel(member)
        if channel.state == MobileChannel.State.BLOCKED:
            return
        previous = channel.state
        channel.state = MobileChannel.State.BLOCKED
        channel.blocked_at = clock.now()
        channel.block_reason = reason[:32]
        channel.changed_at = channel.blocked_at
        channel.save(update_fields=["state", "blocked_at", "block_reason", "changed_at"])
        revoked = revoke_sessions(member, "channel_blocked")
        record_member_event(
            "mobile_channel_blocked", member, ctx, reason=reason, previous=previous,
            sessions_revoked=revoked,
        )  # fmt: skip


def set_mobile_password(
    member: Member, channel: MobileChannel, event: str, ctx: RequestContext
) -> None:
    """DISABLED, BLOCKED or PENDING → PENDING: the password waiting on the channel row, confirmed
    with its SMS code, becomes the mobile-app password (R-W4, R-W5). The counters start again;
    a blocked device stays unusable: the app binds its device anew. Under the caller's lock."""
    previous = channel.state
    channel.state = MobileChannel.State.PENDING
    channel.password_hash = channel.pending_password_hash
    channel.pending_password_hash = ""
    channel.pending_password_otp_id = None
    cleared_counts(channel, "failed_password_attempts", "failed_auth_attempts")
    channel.blocked_at = None
    channel.block_reason = ""
    channel.changed_at = clock.now()
    channel.save()
    # An activation begun with the old password must bind nothing (R-M7).
    void_channel_confirmations(member, "mobile")
    removed = unbind_devices(member, "reactivated")
    revoke_sessions(member, "reactivated")
    record_member_event(event, member, ctx, previous=previous, devices_removed=removed)


def deactivate_mobile_channel(member: Member, ctx: RequestContext) -> None:
    """R-W4, R-M7: any state → DISABLED; device unbound, password void, sessions revoked."""
    with transaction.atomic():
        channel = lock_member_and_mobile_channel(member)
        previous = channel.state
        if channel.pending_password_otp_id:
            void_confirmation(member, channel.pending_password_otp_id)
        # Activations and orders the app began wait for codes that must confirm nothing now.
        void_channel_confirmations(member, "mobile")
        channel.state = MobileChannel.State.DISABLED
        channel.password_hash = ""
        channel.pending_password_hash = ""
        channel.pending_password_otp_id = None
        cleared_counts(channel, "failed_password_attempts", "failed_auth_attempts")
        channel.blocked_at = None
        channel.block_reason = ""
        channel.changed_at = clock.now()
        channel.save()
        removed = unbind_devices(member, "deactivated")
        revoked = revoke_sessions(member, "deactivated")
        record_member_event(
            "mobile_channel_deactivated", member, ctx, previous=previous,
            devices_removed=removed, sessions_revoked=revoked,
        )  # fmt: skip


def remove_mobile_device(member: Member, device_id: str, ctx: RequestContext) -> None:
    """R-W6: unbind the device; ACTIVE → PENDING (the password stays, the app can be
    activated again). A BLOCKED channel stays BLOCKED."""
    with transaction.atomic():
        channel = lock_mobile_channel(member)
        device = MobileDevice.objects.filter(
            member=member, device_id=device_id, state=MobileDevice.State.ACTIVE
        ).first()
        if device is None:
            raise DeviceNotBound()
        device.state = MobileDevice.State.REMOVED
        device.removed_at = clock.now()
        device.removed_reason = "removed_by_member"
        device.save(update_fields=["state", "removed_at", "removed_reason"])
        revoked = revoke_sessions(member, "device_removed", device)
        if channel.state == MobileChannel.State.ACTIVE:
            channel.state = MobileChannel.State.PENDING
            channel.changed_at = clock.now()
            cleared = cleared_counts(channel, "failed_auth_attempts")
            channel.save(update_fields=["state", "changed_at", *cleared])
        record_member_event(
            "mobile_device_removed", member, ctx, device=device_id, sessions_revoked=revoked
        )


def bind_device(
    member: Member,
    key_der: bytes,
    info: dict[str, Any],
    ctx: RequestContext,
    attested: bool,
    changed_at_when_proven: datetime | None,
) -> BoundDevice:
    """PENDING/ACTIVE → ACTIVE with this device; an older device is unbound and its sessions
    revoked (R-M6). In the caller's transaction. `changed_at_when_proven`: the channel's
    `changed_at` as the activation's mobile-app password was accepted; a channel that changed
    state since (deactivated, a new password defined, blocked, a device bound or removed)
    binds nothing from it (R-M7, R-X6). A value the database wrote, compared for equality, so
    clocks of several app servers do not matter."""
    channel = lock_mobile_channel(member)
    if channel.state == MobileChannel.State.BLOCKED:
        raise MobileChannelBlocked.of(member.credit_union)
    if channel.state not in ACTIVATED_STATES:
        raise MobileChannelDisabled()
    if changed_at_when_proven is not None and channel.changed_at != changed_at_when_proven:
        raise ActivationOvertaken()
    replaced = unbind_devices(member, "replaced")
    revoke_sessions(member, "device_replaced")
    now = clock.now()
    device = MobileDevice.objects.create(
        member=member,
        device_id=secrets.token_urlsafe(24),
        public_key=key_der,
        name=str(info.get("name") or "")[:100],
        platform=str(info.get("platform") or "")[:16],
        os_version=str(info.get("os_version") or "")[:32],
        app_version=str(info.get("app_version") or "")[:32],
        activated_at=now,
    )
    previous = channel.state
    channel.state = MobileChannel.State.ACTIVE
    channel.changed_at = now
    cleared = cleared_counts(channel, "failed_auth_attempts")
    channel.save(update_fields=["state", "changed_at", *cleared])
    record_member_event(
        "mobile_device_activated", member, ctx, device=device.device_id, previous=previous,
        replaced=replaced, attested=attested, platform=info.get("platform"),
        os_version=info.get("os_version"),
    )  # fmt: skip
    return BoundDevice(device_id=device.device_id, pin_length=member.credit_union.pin_length)


def lock_member_and_web_channel(member: Member) -> WebChannel:
    """The member's row, then the web channel: the order of every flow that writes the member
    or its operations under the channel (a password's change, renewal, unblock), as a wrong
    code's settlement that counts on the channel takes them (`lock_members_codes`, R-X7).
    Password attempts and blocks, which write neither, lock the channel alone."""
    lock_members_codes(member)
    return for_update(WebChannel.objects).get(member=member)


def block_web_channel(channel: WebChannel, reason: str, ctx: RequestContext) -> None:
    """ACTIVE → BLOCKED. The caller holds the row lock inside its transaction. Every web
    session of the member ends for good: a new generation, so a session that sent nothing
    while the channel was blocked does not come back when staff lift the block (R-W2, R-B3)."""
    channel.state = WebChannel.State.BLOCKED
    channel.blocked_at = clock.now()
    channel.block_reason = reason
    channel.changed_at = channel.blocked_at
    channel.session_generation += 1
    channel.save(
        update_fields=["state", "blocked_at", "block_reason", "changed_at", "session_generation"]
    )
    member = channel.member
    record_event(
        "web_channel_blocked",
        ctx,
        credit_union_id=member.credit_union_id,
        member_id=member.pk,
        data={"reason": reason},
    )


def block_web_channel_at_limit(channel: WebChannel, reason: str, ctx: RequestContext) -> None:
    """The policy's limit of failures reached: blocked until staff unblock it with a new
    temporary password (R-W2). A block the member asked for becomes this block: its lift keeps
    the password, and must not give whoever guessed at it during the block a fresh count."""
    if channel.state != WebChannel.State.BLOCKED or channel.block_reason == "member_request":
        block_web_channel(channel, reason, ctx)


def block_web_channel_on_request(member: Member, ctx: RequestContext) -> bool:
    """ACTIVE → BLOCKED at the member's request to the helpline (lost password, R-B3); open
    web sessions end with it. Returns False when the channel was blocked already."""
    with transaction.atomic():
        channel = for_update(WebChannel.objects).select_related("member").get(member=member)
        if channel.state == WebChannel.State.BLOCKED:
            return False
        block_web_channel(channel, "member_request", ctx)
    return True


def count_web_failure(member: Member, reason: str, ctx: RequestContext) -> WebChannel:
    """Add one failure (an operation cancelled by three wrong codes) and block at the policy
    limit. In the caller's transaction (the settlement of the last wrong code)."""
    channel = for_update(WebChannel.objects).select_related("member").get(member=member)
    if channel.state == WebChannel.State.BLOCKED:
        return channel
    channel.failed_attempts += 1
    channel.save(update_fields=["failed_attempts"])
    # Settled failures only: a password still being compared in another tab may be the right
    # one (R-X6); if it is wrong, its own settlement blocks at the limit.
    if (
        settled_failures(channel, "failed_attempts")
        >= member.credit_union.max_web_password_failures
    ):
        block_web_channel_at_limit(channel, reason, ctx)
    return channel


def web_codes_exhausted(
    member: Member, failed_event: str | None, ctx: RequestContext
) -> DomainError:
    """R-O4 in the web: three wrong codes cancel the operation and count one failure toward
    the web lockout; the refusal says whether that failure blocked the channel."""
    channel = count_web_failure(member, "wrong_codes", ctx)
    if failed_event:
        record_event(
            failed_event,
            ctx,
            credit_union_id=member.credit_union_id,
            member_id=member.pk,
            data={
                "reason": "wrong_codes",
                "failed_attempts": settled_failures(channel, "failed_attempts"),
            },
        )
    if channel.state == WebChannel.State.BLOCKED:
        return WebChannelBlocked.of(member.credit_union)
    return OtpAttemptsExhausted()


def unblock_web_channel(member: Member, ctx: RequestContext) -> str:
    """BLOCKED → ACTIVE by staff (R-W2, R-B3): a new temporary password goes out by SMS. A
    channel that is not blocked is refused with an explanation: nothing changes."""
    password = generate_temporary_password()
    fields = temporary_password_fields(password)
    with transaction.atomic():
        channel = lock_member_and_web_channel(member)
        if channel.state != WebChannel.State.BLOCKED:
            raise WebChannelNotBlocked()
        channel.state = WebChannel.State.ACTIVE
        cleared_counts(channel, "failed_attempts")
        channel.blocked_at = None
        channel.block_reason = ""
        channel.changed_at = clock.now()
        channel.save()
        _send_temporary_password(member, password, fields, "web_channel_unblocked", ctx)
    return password


def renew_temporary_password(member: Member, ctx: RequestContext) -> str:
    """ACTIVE → ACTIVE by staff while the member holds only a temporary password (R-W1, R-B3):
    it expired, or its SMS never reached them. The old one stops working and whoever logged in
    with it is logged out (it may have been read off someone else's phone). A member who set
    their own password is refused, so it is never reset by mistake: that takes a block at their
    request and the unblock; so is a blocked channel, which the unblock serves."""
    password = generate_temporary_password()
    fields = temporary_password_fields(password)
    with transaction.atomic():
        channel = lock_member_and_web_channel(member)
        locked = for_update(Member.objects).get(pk=member.pk)
        if channel.state == WebChannel.State.BLOCKED:
            raise WebChannelBlockedForRenewal()
        if not locked.must_change_password:
            raise NoTemporaryPassword()
        cleared = cleared_counts(channel, "failed_attempts")
        channel.session_generation += 1
        channel.save(update_fields=["session_generation", *cleared])
        _send_temporary_password(member, password, fields, "temporary_password_renewed", ctx)
    return password


def _send_temporary_password(
    member: Member, password: str, fields: dict[str, Any], event: str, ctx: RequestContext
) -> None:
    """In the caller's transaction, under the channel's lock: the new temporary password
    replaces the old one, logins past the old one wait for an SMS code in vain, and the new
    one goes out by SMS."""
    Member.objects.filter(pk=member.pk).update(**fields)
    void_channel_confirmations(member, "web")
    member.refresh_from_db()
    queue_sms(member.phone, temporary_password_sms(member, password), member=member)
    record_event(event, ctx, credit_union_id=member.credit_union_id, member_id=member.pk)


def lift_web_block_on_request(member: Member, ctx: RequestContext) -> None:
    """BLOCKED → ACTIVE by staff when the block was set at the member's own request (R-B3): the
    member's password stays. Any other block (wrong passwords, wrong codes) needs the unblock
    with a new temporary password."""
    with transaction.atomic():
        channel = for_update(WebChannel.objects).get(member=member)
        if channel.state != WebChannel.State.BLOCKED:
            raise WebChannelNotBlocked()
        if channel.block_reason != "member_request":
            raise NotBlockedOnRequest()
        channel.state = WebChannel.State.ACTIVE
        cleared = cleared_counts(channel, "failed_attempts")
        channel.blocked_at = None
        channel.block_reason = ""
        channel.changed_at = clock.now()
        channel.save(update_fields=["state", "blocked_at", "block_reason", "changed_at", *cleared])
        record_event(
            "web_channel_block_lifted",
            ctx,
            credit_union_id=member.credit_union_id,
            member_id=member.pk,
        )
