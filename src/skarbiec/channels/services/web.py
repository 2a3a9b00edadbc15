"""Web channel: login with password + SMS code, lockout, unblock (R-W1, R-W2).

Failure counters follow one pattern: an attempt is counted (and committed) *before* the secret
is checked and given back only on success. A crash, a rollback or a parallel request can then
never test more secrets than the policy allows, and the failure survives the failed request.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from skarbiec.audit.models import AuditEvent
from skarbiec.audit.services import RequestContext, record_event
from skarbiec.channels.errors import (
    PasswordChangeInvalid,
    WebChannelBlocked,
    WrongCredentials,
    WrongCurrentPassword,
)
from skarbiec.channels.models import PendingWebPasswordChange, WebChannel
from skarbiec.core import clock
from skarbiec.core.throttling import consume_rate_limit, count_unknown_login_failure
from skarbiec.members.errors import PasswordRejected
from skarbiec.members.models import CreditUnion, Member
from skarbiec.members.passwords import (
    hash_password,
    password_needs_rehash,
    password_problems,
    verify_password,
)
from skarbiec.members.services import (
    generate_temporary_password,
    require_valid_password,
    temporary_password_sms,
)
from skarbiec.otp.errors import OtpAttemptsExhausted
from skarbiec.otp.models import OneTimePassword
from skarbiec.otp.services import issue_otp, verify_otp
from skarbiec.otp.sms import queue_sms

WEB_LOGIN = "web_login"
WEB_PASSWORD_CHANGE = "web_password_change"


@dataclass(frozen=True)
class PendingWebLogin:
    """Password accepted; the SMS code is still to be entered."""

    member_id: int
    otp_id: int
    # How many wrong codes the policy allows for this code (shown on the code page).
    code_attempts: int = 3


def helpline_phones(credit_union: CreditUnion | None) -> list[str]:
    if credit_union is None:
        credit_union = CreditUnion.objects.order_by("pk").first()
    return list(credit_union.helpline_phones) if credit_union else []


def _throttle_login(login: str, ctx: RequestContext) -> None:
    per_addr, window_a = settings.RATE_LIMIT_PER_ADDRESS
    per_login, window_l = settings.RATE_LIMIT_PER_LOGIN
    consume_rate_limit("login-addr", ctx.ip_address or "-", per_addr, window_a)
    consume_rate_limit("login-login", login, per_login, window_l)


def _blocked(credit_union: CreditUnion | None) -> WebChannelBlocked:
    return WebChannelBlocked(helpline=helpline_phones(credit_union))


def _unknown_login_failure(login: str) -> None:
    limit = CreditUnion._meta.get_field("max_web_password_failures").get_default()
    left = count_unknown_login_failure("unknown-login", login, limit)
    if left == 0:
        raise _blocked(None)
    raise WrongCredentials(attempts_left=left)


def block_web_channel(channel: WebChannel, reason: str, ctx: RequestContext) -> None:
    """ACTIVE → BLOCKED. The caller holds the row lock inside its transaction."""
    channel.state = WebChannel.State.BLOCKED
    channel.blocked_at = clock.now()
    channel.block_reason = reason
    channel.changed_at = channel.blocked_at
    channel.save(update_fields=["state", "blocked_at", "block_reason", "changed_at"])
    member = channel.member
    record_event(
        "web_channel_blocked",
        ctx,
        credit_union_id=member.credit_union_id,
        member_id=member.pk,
        data={"reason": reason},
    )


def block_web_channel_on_request(member: Member, ctx: RequestContext) -> bool:
    """ACTIVE → BLOCKED at the member's request to the helpline (lost password, R-B3); open
    web sessions end with it. Returns False when the channel was blocked already."""
    with transaction.atomic():
        channel = WebChannel.objects.select_for_update().select_related("member").get(member=member)
        if channel.state == WebChannel.State.BLOCKED:
            return False
        block_web_channel(channel, "member_request", ctx)
    return True


def count_web_failure(member: Member, reason: str, ctx: RequestContext) -> WebChannel:
    """Add one failure (e.g. three wrong codes) and block at the policy limit. In a transaction."""
    channel = WebChannel.objects.select_for_update().select_related("member").get(member=member)
    if channel.state == WebChannel.State.BLOCKED:
        return channel
    channel.failed_attempts += 1
    channel.save(update_fields=["failed_attempts"])
    if channel.failed_attempts >= member.credit_union.max_web_password_failures:
        block_web_channel(channel, reason, ctx)
    return channel


def _count_password_attempt(member: Member) -> bool:
    """Count one password attempt before the password is checked, committed at once; False when
    the channel is blocked or every attempt the policy allows is already taken."""
    limit = member.credit_union.max_web_password_failures
    with transaction.atomic():
        channel = WebChannel.objects.select_for_update().get(member=member)
        refused = channel.state == WebChannel.State.BLOCKED or channel.failed_attempts >= limit
        if not refused:
            channel.failed_attempts += 1  # given back by the caller when the password is right
            channel.save(update_fields=["failed_attempts"])
    return not refused


def _wrong_password_refusal(
    channel: WebChannel, event: str, ctx: RequestContext
) -> WebChannelBlocked | int:
    """The attempt stays counted: audit it and block at the policy limit. Runs under the
    caller's row lock; returns the refusal to raise after commit, or the attempts left."""
    member = channel.member
    policy = member.credit_union
    record_event(
        event,
        ctx,
        credit_union_id=policy.pk,
        member_id=member.pk,
        data={"reason": "wrong_password", "failed_attempts": channel.failed_attempts},
    )
    if (
        channel.state == WebChannel.State.ACTIVE
        and channel.failed_attempts >= policy.max_web_password_failures
    ):
        block_web_channel(channel, "wrong_passwords", ctx)
    if channel.state == WebChannel.State.BLOCKED:
        return _blocked(policy)
    return policy.max_web_password_failures - channel.failed_attempts


def _web_login_sms(member: Member):  # type: ignore[no-untyped-def]
    def text(code: str) -> str:
        with translation.override(member.language):
            return _(
                "%(cu)s: code %(code)s to log in to the internet service. Never give it to anyone."
            ) % {"cu": member.credit_union.name, "code": code}

    return text


def begin_web_login(login: str, password: str, ctx: RequestContext) -> PendingWebLogin:
    """Step 1 of R-W1: Login + password. On success an SMS code is sent."""
    login = (login or "").strip()
    _throttle_login(login, ctx)
    member = (
        Member.objects.select_related("credit_union").filter(login=login).first()
        if login.isdigit() and len(login) == 10
        else None
    )
    if member is None:
        verify_password(None, password)  # same cost as a real check
        _unknown_login_failure(login)
    assert member is not None
    policy = member.credit_union

    if not _count_password_attempt(member):
        verify_password(member.web_password_hash, password)  # keep the timing of a real check
        raise _blocked(policy)

    correct = verify_password(member.web_password_hash, password)
    with transaction.atomic():
        channel = WebChannel.objects.select_for_update().select_related("member").get(member=member)
        if correct and channel.state == WebChannel.State.ACTIVE:
            channel.failed_attempts = max(channel.failed_attempts - 1, 0)
            channel.save(update_fields=["failed_attempts"])
            if password_needs_rehash(member.web_password_hash):
                member.web_password_hash = hash_password(password)
                member.save(update_fields=["web_password_hash"])
            record_event(
                "web_password_accepted",
                ctx,
                credit_union_id=policy.pk,
                member_id=member.pk,
            )
            otp = issue_otp(member, WEB_LOGIN, {"login": member.login}, _web_login_sms(member), ctx)
            return PendingWebLogin(
                member_id=member.pk, otp_id=otp.pk, code_attempts=policy.max_otp_failures
            )
        refusal = _wrong_password_refusal(channel, "web_login_failed", ctx)
    if isinstance(refusal, WebChannelBlocked):
        raise refusal
    raise WrongCredentials(attempts_left=refusal)


def resend_web_login_code(pending: PendingWebLogin, ctx: RequestContext) -> PendingWebLogin:
    member = Member.objects.select_related("credit_union").get(pk=pending.member_id)
    _throttle_login(member.login, ctx)
    channel = WebChannel.objects.get(member=member)
    if channel.state == WebChannel.State.BLOCKED:
        raise _blocked(member.credit_union)
    otp = issue_otp(member, WEB_LOGIN, {"login": member.login}, _web_login_sms(member), ctx)
    return PendingWebLogin(
        member_id=member.pk, otp_id=otp.pk, code_attempts=member.credit_union.max_otp_failures
    )


def complete_web_login(pending: PendingWebLogin, code: str, ctx: RequestContext) -> Member:
    """Step 2 of R-W1: the SMS code. Three wrong codes cancel the login and count as one
    failure toward the web lockout (R-O4)."""
    member = Member.objects.select_related("credit_union").get(pk=pending.member_id)
    _throttle_login(member.login, ctx)
    if WebChannel.objects.get(member=member).state == WebChannel.State.BLOCKED:
        raise _blocked(member.credit_union)

    def count_cancelled_login() -> None:
        channel = count_web_failure(member, "wrong_codes", ctx)
        record_event(
            "web_login_failed",
            ctx,
            credit_union_id=member.credit_union_id,
            member_id=member.pk,
            data={"reason": "wrong_codes", "failed_attempts": channel.failed_attempts},
        )

    try:
        verify_otp(
            pending.otp_id,
            member,
            WEB_LOGIN,
            {"login": member.login},
            code,
            ctx,
            on_exhausted=count_cancelled_login,
        )
    except OtpAttemptsExhausted:
        # The cancelled login may have been the failure that blocked the channel: say so.
        if WebChannel.objects.get(member=member).state == WebChannel.State.BLOCKED:
            raise _blocked(member.credit_union)
        raise
    with transaction.atomic():
        channel = WebChannel.objects.select_for_update().get(member=member)
        if channel.state == WebChannel.State.BLOCKED:
            blocked = True
        else:
            blocked = False
            channel.failed_attempts = 0
            channel.last_login_at = clock.now()
            channel.save(update_fields=["failed_attempts", "last_login_at"])
            record_event(
                "web_login", ctx, credit_union_id=member.credit_union_id, member_id=member.pk
            )
    if blocked:
        raise _blocked(member.credit_union)
    return member


def set_own_web_password(
    member: Member, new_password: str, repeated: str, ctx: RequestContext
) -> None:
    """Replace a temporary password with the member's own (R-W1, R-P1)."""
    problems: list[str] = []
    if new_password != repeated:
        problems.append(_("The two passwords are different."))
    problems += password_problems(new_password, member.login)
    if not problems and verify_password(member.web_password_hash, new_password):
        problems.append(_("The new password must differ from the current one."))
    if problems:
        raise PasswordRejected(problems)
    with transaction.atomic():
        locked = Member.objects.select_for_update().get(pk=member.pk)
        locked.web_password_hash = hash_password(new_password)
        locked.must_change_password = False
        locked.save(update_fields=["web_password_hash", "must_change_password"])
        record_event(
            "web_password_changed", ctx, credit_union_id=member.credit_union_id, member_id=member.pk
        )
    member.web_password_hash = locked.web_password_hash
    member.must_change_password = False


def _web_password_change_sms(member: Member):  # type: ignore[no-untyped-def]
    def text(code: str) -> str:
        with translation.override(member.language):
            return _(
                "%(cu)s: code %(code)s to change your internet service password. Never give it "
                "to anyone."
            ) % {"cu": member.credit_union.name, "code": code}

    return text


def request_web_password_change(
    member: Member, current_password: str, new_password: str, repeated: str, ctx: RequestContext
) -> int:
    """R-O1 step 1, Settings → Change password: the current password, then the new one (R-P1).
    Returns the id of the SMS code that confirms the change.

    A wrong current password counts toward the web lockout like a wrong login password (R-W2):
    counted and committed before the check, given back when it is right. The third one blocks
    the channel, which ends the session (the middleware ends sessions of a blocked channel).
    """
    _throttle_login(member.login, ctx)
    policy = member.credit_union
    if not _count_password_attempt(member):
        raise _blocked(policy)

    current_hash = Member.objects.values_list("web_password_hash", flat=True).get(pk=member.pk)
    if not verify_password(current_hash, current_password):
        with transaction.atomic():
            channel = (
                WebChannel.objects.select_for_update().select_related("member").get(member=member)
            )
            refusal = _wrong_password_refusal(channel, "web_password_change_failed", ctx)
        if isinstance(refusal, WebChannelBlocked):
            raise refusal
        raise WrongCurrentPassword(attempts_left=refusal)

    problems: list[str] = []
    if new_password != repeated:
        problems.append(_("The two passwords are different."))
    problems += password_problems(new_password, member.login)
    if not problems and new_password == current_password:
        problems.append(_("The new password must differ from the current one."))
    # Argon2 is slow: hash before the row lock is taken.
    password_hash = "" if problems else hash_password(new_password)
    with transaction.atomic():
        channel = WebChannel.objects.select_for_update().get(member=member)
        if channel.state == WebChannel.State.BLOCKED:
            blocked = True
        else:
            blocked = False
            channel.failed_attempts = max(channel.failed_attempts - 1, 0)
            channel.save(update_fields=["failed_attempts"])
            if not problems:
                otp = issue_otp(
                    member,
                    WEB_PASSWORD_CHANGE,
                    {"member": member.pk},
                    _web_password_change_sms(member),
                    ctx,
                )
                PendingWebPasswordChange.objects.update_or_create(
                    member=member,
                    defaults={
                        "otp_id": otp.pk,
                        "password_hash": password_hash,
                        "created_at": clock.now(),
                    },
                )
                record_event(
                    "web_password_change_requested",
                    ctx,
                    credit_union_id=policy.pk,
                    member_id=member.pk,
                )
    if blocked:
        raise _blocked(policy)
    if problems:
        raise PasswordRejected(problems)
    return otp.pk


def confirm_web_password_change(member: Member, otp_id: int, code: str, ctx: RequestContext) -> int:
    """R-O1 step 2: the SMS code. On success the new password replaces the old one and every
    other web session of the member ends; returns the session generation the current session
    carries on with. Three wrong codes cancel the change and count as one failure toward the
    web lockout (R-O4)."""
    _throttle_login(member.login, ctx)
    if WebChannel.objects.get(member=member).state == WebChannel.State.BLOCKED:
        raise _blocked(member.credit_union)

    def cancel_password_change() -> None:
        PendingWebPasswordChange.objects.filter(member=member, otp_id=otp_id).delete()
        channel = count_web_failure(member, "wrong_codes", ctx)
        record_event(
            "web_password_change_failed",
            ctx,
            credit_union_id=member.credit_union_id,
            member_id=member.pk,
            data={"reason": "wrong_codes", "failed_attempts": channel.failed_attempts},
        )

    try:
        verify_otp(
            otp_id,
            member,
            WEB_PASSWORD_CHANGE,
            {"member": member.pk},
            code,
            ctx,
            on_exhausted=cancel_password_change,
        )
    except OtpAttemptsExhausted:
        if WebChannel.objects.get(member=member).state == WebChannel.State.BLOCKED:
            raise _blocked(member.credit_union)
        raise
    with transaction.atomic():
        pending = (
            PendingWebPasswordChange.objects.select_for_update()
            .filter(member=member, otp_id=otp_id)
            .first()
        )
        channel = WebChannel.objects.select_for_update().get(member=member)
        if pending is None:
            invalid, blocked = True, False
        elif channel.state == WebChannel.State.BLOCKED:
            invalid, blocked = False, True
        else:
            invalid = blocked = False
            locked = Member.objects.select_for_update().get(pk=member.pk)
            locked.web_password_hash = pending.password_hash
            locked.must_change_password = False
            locked.save(update_fields=["web_password_hash", "must_change_password"])
            pending.delete()
            channel.session_generation += 1
            channel.save(update_fields=["session_generation"])
            record_event(
                "web_password_changed",
                ctx,
                credit_union_id=member.credit_union_id,
                member_id=member.pk,
                data={"voluntary": True, "other_sessions_ended": True},
            )
    if invalid:
        raise PasswordChangeInvalid()
    if blocked:
        raise _blocked(member.credit_union)
    member.web_password_hash = locked.web_password_hash
    member.must_change_password = False
    return channel.session_generation


def end_web_session(member: Member, reason: str, ctx: RequestContext) -> None:
    """Record the end of a web session: "logout" by the member, "idle" or "absolute" limit
    (R-W3), or "blocked" when the channel was blocked while the member was logged in."""
    with transaction.atomic():
        record_event(
            "web_logout",
            ctx,
            credit_union_id=member.credit_union_id,
            member_id=member.pk,
            data={"reason": reason},
        )


def previous_web_login(member: Member, before: datetime) -> AuditEvent | None:
    """The member's last successful web login before `before` (shown on the start page so a
    login they did not make stands out)."""
    return (
        AuditEvent.objects.filter(member_id=member.pk, event="web_login", created_at__lt=before)
        .order_by("-created_at", "-pk")
        .first()
    )


def unblock_web_channel(member: Member, ctx: RequestContext) -> str:
    """BLOCKED → ACTIVE by staff (R-W2, R-B3): a new temporary password goes out by SMS."""
    password = generate_temporary_password()
    with transaction.atomic():
        channel = WebChannel.objects.select_for_update().get(member=member)
        channel.state = WebChannel.State.ACTIVE
        channel.failed_attempts = 0
        channel.blocked_at = None
        channel.block_reason = ""
        channel.changed_at = clock.now()
        channel.save()
        Member.objects.filter(pk=member.pk).update(
            web_password_hash=hash_password(password), must_change_password=True
        )
        OneTimePassword.objects.filter(
            member=member, operation=WEB_LOGIN, state=OneTimePassword.State.ACTIVE
        ).update(state=OneTimePassword.State.VOIDED)
        member.refresh_from_db()
        queue_sms(member.phone, temporary_password_sms(member, password), member=member)
        record_event(
            "web_channel_unblocked",
            ctx,
            credit_union_id=member.credit_union_id,
            member_id=member.pk,
        )
    return password


__all__ = [
    "PendingWebLogin",
    "begin_web_login",
    "complete_web_login",
    "resend_web_login_code",
    "set_own_web_password",
    "request_web_password_change",
    "confirm_web_password_change",
    "unblock_web_channel",
    "block_web_channel",
    "helpline_phones",
    "end_web_session",
    "previous_web_login",
    "require_valid_password",
]
