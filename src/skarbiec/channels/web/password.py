"""The member's internet-service password (R-W1, R-O1, R-P1): replacing a temporary one at
first login, and changing it in Settings with the current password and an SMS code.
"""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from skarbiec.audit.services import record_event
from skarbiec.channels.errors import (
    PasswordChangeInvalid,
    TemporaryPasswordExpired,
    WebChannelBlocked,
    WrongCurrentPassword,
)
from skarbiec.channels.lifecycle import lock_member_and_web_channel, web_codes_exhausted
from skarbiec.channels.models import PendingWebPasswordChange, WebChannel
from skarbiec.channels.web.login import (
    WEB_LOGIN,
    WebPasswordCounter,
    login_limits,
    require_session_current,
    require_web_open,
)
from skarbiec.channels.web.temporary_password import is_the_temporary_password
from skarbiec.core import clock
from skarbiec.core.attempts import PasswordGuess, check_secret
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError
from skarbiec.core.locks import for_update
from skarbiec.core.password_hashing import hash_password
from skarbiec.members.errors import PasswordRejected
from skarbiec.members.models import Member
from skarbiec.members.passwords import password_problems, temporary_password_expired
from skarbiec.members.queries import current_web_password_hash
from skarbiec.otp.models import Confirmation
from skarbiec.otp.operations import (
    OperationKind,
    confirm_code,
    declare_operation,
    start_confirmation,
    void_confirmations,
)
from skarbiec.otp.reopening import reopened_if_the_database_fails


def _web_password_change_sms(member: Member, details: dict[str, Any], code: str) -> str:
    return _(
        "%(cu)s: code %(code)s to change your internet service password. Never give it to anyone."
    ) % {"cu": member.credit_union.name, "code": code}


def _web_password_change_codes_exhausted(
    confirmation: Confirmation, ctx: RequestContext
) -> DomainError:
    member = confirmation.member
    PendingWebPasswordChange.objects.filter(member=member, otp_id=confirmation.pk).delete()
    return web_codes_exhausted(member, "web_password_change_failed", ctx)


WEB_PASSWORD_CHANGE = declare_operation(
    OperationKind(
        "web_password_change", _web_password_change_sms, _web_password_change_codes_exhausted
    )
)


def _new_password_problems(new_password: str, repeated: str, login: str) -> list[str]:
    problems: list[str] = []
    if new_password != repeated:
        problems.append(_("The two passwords are different."))
    return problems + password_problems(new_password, login)


def set_own_web_password(
    member: Member,
    new_password: str,
    repeated: str,
    session_generation: int,
    ctx: RequestContext,
    temporary_typed: str = "",
) -> int:
    """Replace a temporary password with the member's own (R-W1, R-P1), from a session of
    `session_generation`. A new one: not the temporary password this session typed at login
    (`temporary_typed`, its digest; `temporary_password.py`), which went out by SMS.

    Every other web session of the member ends, as with a voluntary change: one opened with the
    same temporary password elsewhere would otherwise go on with the member's own password set.
    Returns the session generation the current session carries on with."""
    problems = _new_password_problems(new_password, repeated, member.login)
    if not problems and is_the_temporary_password(member.pk, new_password, temporary_typed):
        problems.append(_("The new password must differ from the temporary one."))
    if problems:
        raise PasswordRejected(problems)
    # Argon2 is slow: hash before the row locks are taken.
    password_hash = hash_password(new_password)
    with transaction.atomic():
        channel = lock_member_and_web_channel(member)
        locked = for_update(Member.objects).get(pk=member.pk)
        require_session_current(channel, member, session_generation)
        if not locked.must_change_password:
            raise PasswordChangeInvalid()
        if temporary_password_expired(locked, clock.now()):
            raise TemporaryPasswordExpired.of(member.credit_union)
        return _replace_web_password(member, locked, channel, password_hash, False, ctx)


def _replace_web_password(
    member: Member,
    locked: Member,
    channel: WebChannel,
    password_hash: str,
    voluntary: bool,
    ctx: RequestContext,
) -> int:
    """The one place a member's web password is replaced, under the locks of the member and
    the channel: every other web session ends (a new session generation), and so does every
    login elsewhere past the old password and waiting for its SMS code: its code no longer
    opens a session (R-W1, R-O1). Returns the generation the current session carries on with."""
    locked.web_password_hash = password_hash
    locked.must_change_password = False
    locked.temporary_password_expires_at = None
    locked.save(
        update_fields=["web_password_hash", "must_change_password", "temporary_password_expires_at"]
    )
    channel.session_generation += 1
    channel.save(update_fields=["session_generation"])
    void_confirmations(locked, WEB_LOGIN)
    record_event(
        "web_password_changed",
        ctx,
        credit_union_id=member.credit_union_id,
        member_id=member.pk,
        data={"voluntary": voluntary, "other_sessions_ended": True},
    )
    member.web_password_hash = password_hash
    member.must_change_password = False
    member.temporary_password_expires_at = None
    return channel.session_generation


def request_web_password_change(
    member: Member, current_password: str, new_password: str, repeated: str, ctx: RequestContext
) -> int:
    """R-O1 step 1, Settings → Change password: the current password, then the new one (R-P1).
    Returns the id of the confirmation whose SMS code confirms the change.

    A wrong current password counts toward the web lockout like a wrong login password (R-W2,
    R-X6). The third one blocks the channel, which ends the session (the middleware ends
    sessions of a blocked channel).
    """
    with login_limits(member.login, ctx, proven=True):
        check_secret(
            WebPasswordCounter(member, ctx, "web_password_change_failed", WrongCurrentPassword),
            # Read afresh under the channel's lock (see current_web_password_hash).
            PasswordGuess(lambda channel: current_web_password_hash(member.pk), current_password),
        )
    problems = _new_password_problems(new_password, repeated, member.login)
    if not problems and new_password == current_password:
        problems.append(_("The new password must differ from the current one."))
    if problems:
        raise PasswordRejected(problems)
    # Argon2 is slow: hash before the row lock is taken.
    password_hash = hash_password(new_password)
    with transaction.atomic():
        channel = lock_member_and_web_channel(member)
        if channel.state == WebChannel.State.BLOCKED:
            raise WebChannelBlocked.of(member.credit_union)
        confirmation = start_confirmation(
            WEB_PASSWORD_CHANGE, member, details={"member": member.pk}, channel="web", ctx=ctx
        )
        PendingWebPasswordChange.objects.update_or_create(
            member=member,
            defaults={
                "otp_id": confirmation.pk,
                "password_hash": password_hash,
                "created_at": clock.now(),
            },
        )
        record_event(
            "web_password_change_requested",
            ctx,
            credit_union_id=member.credit_union_id,
            member_id=member.pk,
        )
    return confirmation.pk


def confirm_web_password_change(
    member: Member, otp_id: int, code: str, session_generation: int, ctx: RequestContext
) -> int:
    """R-O1 step 2: the SMS code, from a session of `session_generation`. On success the new
    password replaces the old one and every other web session of the member ends; returns the
    session generation the current session carries on with. Three wrong codes cancel the
    change and count as one failure toward the web lockout (R-O4)."""
    with login_limits(member.login, ctx, proven=True):
        require_web_open(member)
        confirm_code(WEB_PASSWORD_CHANGE, otp_id, member, {"member": member.pk}, code, ctx)
    with (
        reopened_if_the_database_fails(WEB_PASSWORD_CHANGE, otp_id, member),
        transaction.atomic(),
    ):
        # As every flow that changes the password or its pending change (a request of a new
        # change in another tab, or a code's settlement, would deadlock otherwise).
        channel = lock_member_and_web_channel(member)
        pending = (
            for_update(PendingWebPasswordChange.objects)
            .filter(member=member, otp_id=otp_id)
            .first()
        )
        if pending is None:
            raise PasswordChangeInvalid()
        require_session_current(channel, member, session_generation)
        locked = for_update(Member.objects).get(pk=member.pk)
        pending.delete()
        return _replace_web_password(member, locked, channel, pending.password_hash, True, ctx)
