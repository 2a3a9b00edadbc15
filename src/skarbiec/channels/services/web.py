"""Web channel: login with password + SMS code, lockout, unblock (R-W1, R-W2).

Passwords are checked only through the attempts mechanism (`skarbiec.core.attempts`, R-X6):
counted and committed before the comparison, given back on success. Operations confirmed by
SMS codes are kinds of the registry (`skarbiec.otp.operations`, R-X7).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
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
from skarbiec.core.attempts import Counter, PasswordGuess, check_secret
from skarbiec.core.errors import DomainError
from skarbiec.core.password_hashing import hash_password, password_needs_rehash
from skarbiec.core.throttling import (
    UnknownLoginCounter,
    address_failures_limited,
    consume_rate_limit,
)
from skarbiec.members.errors import PasswordRejected
from skarbiec.members.models import CreditUnion, Member
from skarbiec.members.passwords import password_problems
from skarbiec.members.services import (
    generate_temporary_password,
    member_by_login,
    require_valid_password,
    temporary_password_sms,
)
from skarbiec.otp.errors import OtpAttemptsExhausted
from skarbiec.otp.models import Confirmation
from skarbiec.otp.operations import (
    OperationKind,
    code_attempts_left,
    confirm_code,
    declare_operation,
    resend_code,
    start_confirmation,
    void_confirmations,
)
from skarbiec.otp.sms import queue_sms


def helpline_phones(credit_union: CreditUnion | None) -> list[str]:
    if credit_union is None:
        credit_union = CreditUnion.objects.order_by("pk").first()
    return list(credit_union.helpline_phones) if credit_union else []


@contextmanager
def login_limits(login: str, ctx: RequestContext) -> Iterator[None]:
    """Every attempt counts per Login; per address only failures do (R-X10)."""
    per_addr, window_a = settings.RATE_LIMIT_PER_ADDRESS
    per_login, window_l = settings.RATE_LIMIT_PER_LOGIN
    with address_failures_limited("login-addr", ctx.ip_address, per_addr, window_a):
        consume_rate_limit("login-login", login, per_login, window_l)
        yield


def _blocked(credit_union: CreditUnion | None) -> WebChannelBlocked:
    return WebChannelBlocked(helpline=helpline_phones(credit_union))


def _unknown_login_counter(login: str) -> UnknownLoginCounter:
    return UnknownLoginCounter(
        "unknown-login",
        login,
        CreditUnion._meta.get_field("max_web_password_failures").get_default(),
        wrong=lambda left: WrongCredentials(attempts_left=left),
        blocked=lambda: _blocked(None),
    )


class WebPasswordCounter(Counter[WebChannel]):
    """Consecutive failures of the web channel (R-W2): wrong passwords, and operations cancelled
    by three wrong codes. At the policy limit the channel is blocked until staff unblock it."""

    field = "failed_attempts"

    def __init__(
        self,
        member: Member,
        ctx: RequestContext,
        failed_event: str = "web_login_failed",
        wrong: type[DomainError] = WrongCredentials,
    ) -> None:
        self.member = member
        self.ctx = ctx
        self.failed_event = failed_event
        self.wrong = wrong
        self.limit = member.credit_union.max_web_password_failures

    def lock(self) -> WebChannel:
        return (
            WebChannel.objects.select_for_update().select_related("member").get(member=self.member)
        )

    def refusal(self, row: WebChannel) -> DomainError | None:
        return _blocked(self.member.credit_union) if row.state == WebChannel.State.BLOCKED else None

    def exhausted(self, row: WebChannel) -> DomainError:
        return _blocked(self.member.credit_union)

    def reject(self, row: WebChannel) -> DomainError:
        record_event(
            self.failed_event,
            self.ctx,
            credit_union_id=self.member.credit_union_id,
            member_id=self.member.pk,
            data={"reason": "wrong_password", "failed_attempts": row.failed_attempts},
        )
        if row.failed_attempts >= self.limit:
            block_web_channel(row, "wrong_passwords", self.ctx)
            return _blocked(self.member.credit_union)
        return self.wrong(attempts_left=self.attempts_left(row))


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
    """Add one failure (an operation cancelled by three wrong codes) and block at the policy
    limit. In the caller's transaction (the settlement of the last wrong code)."""
    channel = WebChannel.objects.select_for_update().select_related("member").get(member=member)
    if channel.state == WebChannel.State.BLOCKED:
        return channel
    channel.failed_attempts += 1
    channel.save(update_fields=["failed_attempts"])
    if channel.failed_attempts >= member.credit_union.max_web_password_failures:
        block_web_channel(channel, reason, ctx)
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
            data={"reason": "wrong_codes", "failed_attempts": channel.failed_attempts},
        )
    if channel.state == WebChannel.State.BLOCKED:
        return _blocked(member.credit_union)
    return OtpAttemptsExhausted()


def _web_login_sms(member: Member, details: dict[str, Any], code: str) -> str:
    return _(
        "%(cu)s: code %(code)s to log in to the internet service. Never give it to anyone."
    ) % {"cu": member.credit_union.name, "code": code}


def _web_login_codes_exhausted(confirmation: Confirmation, ctx: RequestContext) -> DomainError:
    return web_codes_exhausted(confirmation.member, "web_login_failed", ctx)


WEB_LOGIN = declare_operation(
    OperationKind("web_login", _web_login_sms, _web_login_codes_exhausted)
)


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


@dataclass(frozen=True)
class PendingWebLogin:
    """Password accepted; the SMS code is still to be entered."""

    member_id: int
    otp_id: int  # the login's Confirmation
    # How many wrong codes are left for this login (shown on the code page).
    code_attempts: int = 3


def begin_web_login(login: str, password: str, ctx: RequestContext) -> PendingWebLogin:
    """Step 1 of R-W1: Login + password, counted before the check (R-X6). On success the
    attempt is given back *before* the SMS code is sent: a refusal to send (R-X7) is not the
    member's mistake and leaves no failure behind."""
    login = (login or "").strip()
    with login_limits(login, ctx):
        member = member_by_login(login)
        if member is None:
            check_secret(_unknown_login_counter(login), PasswordGuess(None, password))
            raise AssertionError("a password never matches an unknown Login")

        def accepted(channel: WebChannel) -> None:
            if password_needs_rehash(member.web_password_hash):
                member.web_password_hash = hash_password(password)
                member.save(update_fields=["web_password_hash"])
            record_event(
                "web_password_accepted",
                ctx,
                credit_union_id=member.credit_union_id,
                member_id=member.pk,
            )

        check_secret(
            WebPasswordCounter(member, ctx),
            PasswordGuess(member.web_password_hash, password),
            on_accept=accepted,
        )
    confirmation = start_confirmation(
        WEB_LOGIN, member, details={"login": member.login}, channel="web", ctx=ctx
    )
    return PendingWebLogin(member.pk, confirmation.pk, code_attempts_left(confirmation))


def _require_web_open(member: Member) -> None:
    if WebChannel.objects.filter(member=member, state=WebChannel.State.BLOCKED).exists():
        raise _blocked(member.credit_union)


def resend_web_login_code(pending: PendingWebLogin, ctx: RequestContext) -> PendingWebLogin:
    """A new code for the same login: the wrong codes entered so far stay counted (R-X7)."""
    member = Member.objects.select_related("credit_union").get(pk=pending.member_id)
    with login_limits(member.login, ctx):
        _require_web_open(member)
        confirmation = resend_code(WEB_LOGIN, pending.otp_id, member, ctx)
    return PendingWebLogin(member.pk, confirmation.pk, code_attempts_left(confirmation))


def complete_web_login(pending: PendingWebLogin, code: str, ctx: RequestContext) -> Member:
    """Step 2 of R-W1: the SMS code. Three wrong codes, across resends, cancel the login and
    count as one failure toward the web lockout (R-O4, R-X7)."""
    member = Member.objects.select_related("credit_union").get(pk=pending.member_id)
    with login_limits(member.login, ctx):
        _require_web_open(member)
        confirm_code(WEB_LOGIN, pending.otp_id, member, {"login": member.login}, code, ctx)
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


def _new_password_problems(new_password: str, repeated: str, login: str) -> list[str]:
    problems: list[str] = []
    if new_password != repeated:
        problems.append(_("The two passwords are different."))
    return problems + password_problems(new_password, login)


def set_own_web_password(
    member: Member, new_password: str, repeated: str, ctx: RequestContext
) -> None:
    """Replace a temporary password with the member's own (R-W1, R-P1). The new password is
    not compared with the temporary one: no secret is compared outside the attempts mechanism
    (R-X6), and the temporary one is random, so typing it again is no weaker a choice."""
    problems = _new_password_problems(new_password, repeated, member.login)
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


def request_web_password_change(
    member: Member, current_password: str, new_password: str, repeated: str, ctx: RequestContext
) -> int:
    """R-O1 step 1, Settings → Change password: the current password, then the new one (R-P1).
    Returns the id of the confirmation whose SMS code confirms the change.

    A wrong current password counts toward the web lockout like a wrong login password (R-W2,
    R-X6). The third one blocks the channel, which ends the session (the middleware ends
    sessions of a blocked channel).
    """
    with login_limits(member.login, ctx):
        check_secret(
            WebPasswordCounter(member, ctx, "web_password_change_failed", WrongCurrentPassword),
            PasswordGuess(lambda channel: channel.member.web_password_hash, current_password),
        )
    problems = _new_password_problems(new_password, repeated, member.login)
    if not problems and new_password == current_password:
        problems.append(_("The new password must differ from the current one."))
    if problems:
        raise PasswordRejected(problems)
    # Argon2 is slow: hash before the row lock is taken.
    password_hash = hash_password(new_password)
    with transaction.atomic():
        channel = WebChannel.objects.select_for_update().get(member=member)
        if channel.state == WebChannel.State.BLOCKED:
            raise _blocked(member.credit_union)
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


def confirm_web_password_change(member: Member, otp_id: int, code: str, ctx: RequestContext) -> int:
    """R-O1 step 2: the SMS code. On success the new password replaces the old one and every
    other web session of the member ends; returns the session generation the current session
    carries on with. Three wrong codes cancel the change and count as one failure toward the
    web lockout (R-O4)."""
    with login_limits(member.login, ctx):
        _require_web_open(member)
        confirm_code(WEB_PASSWORD_CHANGE, otp_id, member, {"member": member.pk}, code, ctx)
    with transaction.atomic():
        pending = (
            PendingWebPasswordChange.objects.select_for_update()
            .filter(member=member, otp_id=otp_id)
            .first()
        )
        channel = WebChannel.objects.select_for_update().get(member=member)
        if pending is None:
            raise PasswordChangeInvalid()
        if channel.state == WebChannel.State.BLOCKED:
            raise _blocked(member.credit_union)
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
        void_confirmations(member, WEB_LOGIN)
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
