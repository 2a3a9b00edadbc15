"""Login to the internet service (R-W1, R-W2, R-T3): Login and password, then an SMS code.

Passwords are compared only by the attempts mechanism (`skarbiec.core.attempts`, R-X6):
counted and committed before the comparison, given back on success. The login's code is an
operation of the confirmed-operation registry (`skarbiec.otp.operations`, R-X7).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from skarbiec.audit.services import record_event
from skarbiec.channels.errors import (
    LoginOvertaken,
    TemporaryPasswordExpired,
    WebChannelBlocked,
    WrongCredentials,
)
from skarbiec.channels.lifecycle import block_web_channel_at_limit, web_codes_exhausted
from skarbiec.channels.models import WebChannel
from skarbiec.channels.web.known_browsers import is_known_browser
from skarbiec.channels.web.temporary_password import typed_temporary_password
from skarbiec.core import clock
from skarbiec.core.attempt_counts import cleared_counts
from skarbiec.core.attempts import Counter, PasswordGuess, check_secret
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError
from skarbiec.core.locks import for_update
from skarbiec.core.password_hashing import hash_password, password_needs_rehash
from skarbiec.core.prepared import prepared_select
from skarbiec.core.throttling import (
    address_failures_limited,
    consume_rate_limit,
)
from skarbiec.members.models import Member
from skarbiec.members.passwords import temporary_password_expired
from skarbiec.members.queries import (
    current_web_password_hash,
    member_by_login,
    unknown_login_counter,
)
from skarbiec.otp.models import Confirmation
from skarbiec.otp.operations import (
    OperationKind,
    code_attempts_left,
    confirm_code,
    declare_operation,
    lock_members_codes,
    resend_code,
    start_confirmation,
    void_confirmation,
)
from skarbiec.otp.reopening import reopened_if_the_database_fails


@contextmanager
def login_limits(login: str, ctx: RequestContext, proven: bool = False) -> Iterator[None]:
    """Every attempt counts per Login; per address only failures do (R-X10). A request
    `proven` to come from the Login's member (a known browser, a logged-in session) is served
    when its address is over the limit: junk from a shared address must not keep them out."""
    per_addr, window_a = settings.RATE_LIMIT_PER_ADDRESS
    per_login, window_l = settings.RATE_LIMIT_PER_LOGIN
    served_over_limit = () if proven else None
    with address_failures_limited(
        "login-addr", ctx.ip_address, per_addr, window_a, served_over_limit
    ):
        consume_rate_limit("login-login", login, per_login, window_l)
        yield


@prepared_select
def _web_channel_locked(member_id: int) -> QuerySet[WebChannel]:
    # Prepared (core/prepared.py): locked at each web password attempt (R-X6).
    return for_update(WebChannel.objects).select_related("member").filter(member_id=member_id)


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
        self.subject_id = member.pk
        self.ctx = ctx
        self.failed_event = failed_event
        self.wrong = wrong
        self.limit = member.credit_union.max_web_password_failures

    def lock(self) -> WebChannel:
        return _web_channel_locked.get(member_id=self.member.pk)

    def refusal_once_proven(self, row: WebChannel) -> DomainError | None:
        # A channel blocked by staff or at the member's request, or a temporary password past
        # its expiry, is counted and answered like an unknown Login until the right password
        # shows who is asking (R-T3, R-W2, R-W1); then the attempt is given back.
        if row.state == WebChannel.State.BLOCKED:
            return WebChannelBlocked.of(self.member.credit_union)
        # The member as locked with the channel: a renewal by staff (which takes the same
        # lock) is seen at once.
        if temporary_password_expired(row.member, clock.now()):
            return TemporaryPasswordExpired.of(self.member.credit_union)
        return None

    def closed(self, row: WebChannel) -> bool:
        # Only a block: an expired temporary password is no consequence of failures, and its
        # failures are held to a lowered limit like any open channel's (R-W2).
        return row.state == WebChannel.State.BLOCKED

    @classmethod
    def open_rows(cls, subject_id: int) -> QuerySet[WebChannel]:
        return WebChannel.objects.filter(member_id=subject_id)

    def exhausted(self, row: WebChannel) -> DomainError:
        return WebChannelBlocked.of(self.member.credit_union)

    def reject(self, row: WebChannel) -> DomainError:
        record_event(
            self.failed_event,
            self.ctx,
            credit_union_id=self.member.credit_union_id,
            member_id=self.member.pk,
            data={"reason": "wrong_password", "failed_attempts": self.failures(row)},
        )
        if self.failures(row) >= self.limit:
            block_web_channel_at_limit(row, "wrong_passwords", self.ctx)
            return WebChannelBlocked.of(self.member.credit_union)
        return self.wrong(attempts_left=self.attempts_left(row))


def _web_login_sms(member: Member, details: dict[str, Any], code: str) -> str:
    return _(
        "%(cu)s: code %(code)s to log in to the internet service. Never give it to anyone."
    ) % {"cu": member.credit_union.name, "code": code}


def _web_login_codes_exhausted(confirmation: Confirmation, ctx: RequestContext) -> DomainError:
    return web_codes_exhausted(confirmation.member, "web_login_failed", ctx)


WEB_LOGIN = declare_operation(
    OperationKind("web_login", _web_login_sms, _web_login_codes_exhausted)
)


@dataclass(frozen=True)
class PendingWebLogin:
    """Password accepted; the SMS code is still to be entered."""

    member_id: int
    otp_id: int  # the login's Confirmation
    # How many wrong codes are left for this login (shown on the code page).
    code_attempts: int = 3
    # The password was entered in a browser known to have logged in as this Login (R-X10).
    known_browser: bool = False
    # The channel's session generation when the password was accepted: a password changed
    # since (which raises it) leaves this login without a session to open.
    session_generation: int = 0
    # A temporary password was accepted: its digest as typed (`temporary_password.py`), so the
    # password set next is a new one (R-W1); empty otherwise.
    temporary_typed: str = ""


def begin_web_login(
    login: str, password: str, ctx: RequestContext, browser_note: str | None = None
) -> PendingWebLogin:
    """Step 1 of R-W1: Login + password, counted before the check (R-X6). On success the
    attempt is given back *before* the SMS code is sent: a refusal to send (R-X7) is not the
    member's mistake and leaves no failure behind. `browser_note` is the browser's cookie of
    `known_browsers` (served over its address's failure limit when it names this Login)."""
    login = (login or "").strip()
    known = is_known_browser(browser_note, login)
    with login_limits(login, ctx, proven=known):
        member = member_by_login(login)
        if member is None:
            unknown = unknown_login_counter(
                "unknown-login",
                login,
                "max_web_password_failures",
                wrong=lambda left: WrongCredentials(attempts_left=left),
                blocked=WebChannelBlocked.of,
            )
            check_secret(unknown, PasswordGuess(None, password))
            raise AssertionError("a password never matches an unknown Login")

        guess = PasswordGuess(member.web_password_hash, password)

        def accepted(channel: WebChannel) -> int:
            # Under the channel's lock, which every password change takes (after the member's).
            if current_web_password_hash(member.pk) != guess.compared_hash:
                raise LoginOvertaken()
            record_event(
                "web_password_accepted",
                ctx,
                credit_union_id=member.credit_union_id,
                member_id=member.pk,
            )
            return channel.session_generation

        try:
            generation = check_secret(WebPasswordCounter(member, ctx), guess, on_accept=accepted)
        except TemporaryPasswordExpired:
            # The attempt was given back (not the member's mistake); the helpline sees why the
            # member could not log in.
            record_event(
                "web_login_failed",
                ctx,
                credit_union_id=member.credit_union_id,
                member_id=member.pk,
                data={"reason": "temporary_password_expired"},
            )
            raise
    if password_needs_rehash(guess.compared_hash or ""):
        _rehash_web_password(member, guess.compared_hash or "", password)
    confirmation = start_confirmation(
        WEB_LOGIN, member, details={"login": member.login}, channel="web", ctx=ctx
    )
    return PendingWebLogin(
        member.pk,
        confirmation.pk,
        code_attempts_left(confirmation),
        known,
        generation,
        typed_temporary_password(member.pk, password) if member.must_change_password else "",
    )


def _rehash_web_password(member: Member, compared_hash: str, password: str) -> None:
    """The accepted password hashed with today's parameters, unless the password was replaced
    since it was compared (a write-back would restore the old one). One statement outside the
    channel's lock: a member's row is locked before a channel's, never after (R-X7)."""
    Member.objects.filter(pk=member.pk, web_password_hash=compared_hash).update(
        web_password_hash=hash_password(password)
    )


def require_web_open(member: Member) -> None:
    if WebChannel.objects.filter(member=member, state=WebChannel.State.BLOCKED).exists():
        raise WebChannelBlocked.of(member.credit_union)


def require_session_current(channel: WebChannel, member: Member, session_generation: int) -> None:
    """The channel open, and a login or session of `session_generation` still one it knows:
    a block, a new password or a new temporary password by staff (each a new generation) may
    have been committed since the request was let in (R-W1, R-O1, R-B3). Under the channel's
    lock where what follows writes."""
    if channel.state == WebChannel.State.BLOCKED:
        raise WebChannelBlocked.of(member.credit_union)
    if channel.session_generation != session_generation:
        raise LoginOvertaken()


def _require_login_current(channel: WebChannel, member: Member, pending: PendingWebLogin) -> None:
    """The channel open, its password the one this login passed (R-W1, R-O1), and, if that is
    a temporary password, not expired since: it opens the service only until its expiry."""
    require_session_current(channel, member, pending.session_generation)
    if temporary_password_expired(member, clock.now()):
        raise TemporaryPasswordExpired.of(member.credit_union)


def resend_web_login_code(pending: PendingWebLogin, ctx: RequestContext) -> PendingWebLogin:
    """A new code for the same login: the wrong codes entered so far stay counted (R-X7)."""
    member = Member.objects.select_related("credit_union").get(pk=pending.member_id)
    with login_limits(member.login, ctx, proven=pending.known_browser):
        _require_login_current(_web_channel(member), member, pending)
        confirmation = resend_code(WEB_LOGIN, pending.otp_id, member, ctx)
    return replace(pending, otp_id=confirmation.pk, code_attempts=code_attempts_left(confirmation))


def complete_web_login(pending: PendingWebLogin, code: str, ctx: RequestContext) -> Member:
    """Step 2 of R-W1: the SMS code. Three wrong codes, across resends, cancel the login and
    count as one failure toward the web lockout (R-O4, R-X7)."""
    member = Member.objects.select_related("credit_union").get(pk=pending.member_id)
    with login_limits(member.login, ctx, proven=pending.known_browser):
        _require_login_current(_web_channel(member), member, pending)
        confirm_code(WEB_LOGIN, pending.otp_id, member, {"login": member.login}, code, ctx)
    with reopened_if_the_database_fails(WEB_LOGIN, pending.otp_id, member), transaction.atomic():
        channel = for_update(WebChannel.objects).get(member=member)
        try:
            # Again under the lock: blocked, or the password replaced, since the code's check.
            _require_login_current(channel, member, pending)
        except DomainError as refusal:
            refused: DomainError | None = refusal
        else:
            refused = None
            channel.last_login_at = clock.now()
            cleared = cleared_counts(channel, "failed_attempts")
            channel.save(update_fields=["last_login_at", *cleared])
            record_event(
                "web_login", ctx, credit_union_id=member.credit_union_id, member_id=member.pk
            )
    if refused is not None:
        raise refused
    return member


def cancel_web_login(pending: PendingWebLogin) -> None:
    """The member cancels a login at its code step: its operation is closed, as a cancelled
    transfer's is, so the login begun next has codes of its own to send; its wrong codes are
    still carried to it (R-X7, `otp/restarts.py`)."""
    member = Member.objects.only("pk").get(pk=pending.member_id)
    with transaction.atomic():
        lock_members_codes(member)
        void_confirmation(member, pending.otp_id)


def _web_channel(member: Member) -> WebChannel:
    channel = WebChannel.objects.only("state", "session_generation").get(member=member)
    channel.member = member
    return channel


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
