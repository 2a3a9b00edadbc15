"""Staff login to the back-office (R-B1): username and password, then a code from an
authenticator app (TOTP), enrolled with a QR code at the first login, or a recovery code.

Both secrets are compared only by the attempts mechanism (`skarbiec.core.attempts`, R-X6): each
attempt is counted and committed before the comparison. At the policy's limit of the staff
member's credit union (the same limits as members': web passwords for the password, SMS codes
for the second factor) the account is locked until an administrator unlocks it.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import cache

import pyotp
import segno
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils.crypto import constant_time_compare

from skarbiec.audit.services import record_event
from skarbiec.backoffice.errors import (
    StaffAccountLocked,
    StaffAuthenticatorUnreadable,
    StaffLoginExpired,
    WrongRecoveryCode,
    WrongStaffCode,
    WrongStaffCredentials,
)
from skarbiec.backoffice.session import credentials_stamp, password_stamp
from skarbiec.core import clock
from skarbiec.core.attempt_counts import reset_count
from skarbiec.core.attempts import AnyDigestGuess, Counter, PasswordGuess, TotpGuess, check_secret
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError, Unauthenticated
from skarbiec.core.locks import for_update
from skarbiec.core.sealed import Unsealable
from skarbiec.core.throttling import address_failures_limited, consume_rate_limit
from skarbiec.members.models import StaffProfile
from skarbiec.members.queries import policy_value, unknown_login_counter
from skarbiec.members.staff import authenticator_secret, sealed_authenticator_secret

RECOVERY_CODES = 10
ISSUER = "Skarbiec"


def staff_context(profile: StaffProfile, base: RequestContext) -> RequestContext:
    """Who acts in the audit log: the named staff member, never a shared identity (R-B5)."""
    return RequestContext(
        ip_address=base.ip_address,
        channel=base.channel or "backoffice",
        device=base.device,
        actor=f"staff:{profile.user.username}",
    )


def _limit(profile: StaffProfile, field: str) -> int:
    return policy_value(profile.credit_union, field)


def _django_argon2(row: StaffProfile) -> str | None:
    """Django keeps "argon2$argon2id$..."; the mechanism verifies the argon2 part itself."""
    encoded = row.user.password or ""
    if not row.user.is_active or not encoded.startswith("argon2$"):
        return None
    return encoded[len("argon2") :]


@cache
def staff_decoy_hash() -> str:
    """A hash no password opens, made by the hasher of staff passwords (Django's, heavier than
    the members'): an unknown username, or a staff member without a usable password, costs
    the work a known one does, so timing does not tell which usernames exist (R-T3, R-B1)."""
    return make_password(secrets.token_urlsafe(24))[len("argon2") :]


def _locked_profile(staff_id: int) -> StaffProfile:
    """The staff profile locked, with its user read afresh after the lock: PostgreSQL re-reads
    only the locked row when the lock had to wait, so a user row joined to it could be from
    before a change committed meanwhile (a password, a deactivation)."""
    profile = (
        for_update(StaffProfile.objects).select_related("user", "credit_union").get(pk=staff_id)
    )
    profile.user.refresh_from_db(fields=["password", "is_active"])
    return profile


class _StaffCounter(Counter[StaffProfile]):
    failed_event: str
    wrong: type[Unauthenticated]

    def __init__(
        self, staff_id: int, limit: int, ctx: RequestContext, stamp: str | None = None
    ) -> None:
        self.staff_id = staff_id
        self.limit = limit
        self.ctx = ctx
        # The second factor's counters: the `password_stamp` the password was accepted with.
        self.stamp = stamp

    def lock(self) -> StaffProfile:
        return _locked_profile(self.staff_id)

    def refusal(self, row: StaffProfile) -> DomainError | None:
        return StaffAccountLocked() if row.locked_at is not None else None

    def refusal_once_proven(self, row: StaffProfile) -> DomainError | None:
        # Deactivated, or its password replaced (or the account locked and unlocked) since this
        # login passed the password: a right second factor does not finish it, the login
        # starts again. A wrong one is counted, audited and locks at the limit as ever.
        if self.stamp is not None and not (
            row.user.is_active and constant_time_compare(self.stamp, password_stamp(row))
        ):
            return StaffLoginExpired()
        return None

    def exhausted(self, row: StaffProfile) -> DomainError:
        return StaffAccountLocked()

    def reject(self, row: StaffProfile) -> DomainError:
        ctx = staff_context(row, self.ctx)
        record_event(
            self.failed_event,
            ctx,
            credit_union_id=row.credit_union_id,
            data={"failed_attempts": self.failures(row)},
        )
        if self.failures(row) >= self.limit:
            if row.locked_at is None:
                row.locked_at = clock.now()
                row.session_generation += 1
                row.save(update_fields=["locked_at", "session_generation"])
                record_event(
                    "staff_account_locked",
                    ctx,
                    credit_union_id=row.credit_union_id,
                    data={"reason": self.field},
                )
            return StaffAccountLocked()
        return self.wrong(attempts_left=self.attempts_left(row))


class StaffPasswordCounter(_StaffCounter):
    field = "failed_password_attempts"
    failed_event = "staff_login_failed"
    wrong = WrongStaffCredentials

    def refusal(self, row: StaffProfile) -> DomainError | None:
        return None

    def refusal_once_proven(self, row: StaffProfile) -> DomainError | None:
        # Locked by wrong authenticator codes: a wrong password is answered as for an unknown
        # username, so the lock does not tell which usernames exist.
        return StaffAccountLocked() if row.locked_at is not None else None


class StaffCodeCounter(_StaffCounter):
    field = "failed_totp_attempts"
    failed_event = "staff_code_failed"
    wrong = WrongStaffCode


class StaffRecoveryCounter(_StaffCounter):
    field = "failed_totp_attempts"
    failed_event = "staff_recovery_code_failed"
    wrong = WrongRecoveryCode


@dataclass(frozen=True)
class PasswordAccepted:
    staff_id: int
    needs_enrolment: bool
    # `password_stamp` of the account as the password was accepted, read under its lock.
    stamp: str


def check_staff_password(username: str, password: str, ctx: RequestContext) -> PasswordAccepted:
    """First factor. An unknown username walks through the same answers and costs the same
    Argon2 work as a known one. An address that failed too often is refused before any Argon2
    work, as at the members' logins (R-X10): new usernames, each with a count of its own,
    would otherwise cost the server an Argon2 verify per request without end."""
    per_address, window = settings.RATE_LIMIT_PER_ADDRESS
    with address_failures_limited("staff-addr", ctx.ip_address, per_address, window):
        return _check_staff_password(username, password, ctx)


def _check_staff_password(username: str, password: str, ctx: RequestContext) -> PasswordAccepted:
    username = (username or "").strip()[:150]
    consume_rate_limit("staff-login", username.lower() or "-", *settings.RATE_LIMIT_PER_LOGIN)
    profile = (
        StaffProfile.objects.select_related("user", "credit_union")
        .filter(user__username__iexact=username)
        .first()
    )
    if profile is None:
        unknown = unknown_login_counter(
            "staff-unknown",
            username.lower(),
            "max_web_password_failures",
            wrong=lambda left: WrongStaffCredentials(attempts_left=left),
            blocked=lambda credit_union: StaffAccountLocked(),
            # Installation staff are locked at the §8 default: an unknown username may be
            # answered as one of them too (R-T3).
            installation_too=StaffProfile.objects.filter(credit_union__isnull=True).exists(),
            names="staff",
        )
        check_secret(unknown, PasswordGuess(None, password, staff_decoy_hash))
        raise WrongStaffCredentials()  # never reached: nothing matches an unknown user
    counter = StaffPasswordCounter(profile.pk, _limit(profile, "max_web_password_failures"), ctx)
    guess = PasswordGuess(_django_argon2, password, staff_decoy_hash)

    def accepted(row: StaffProfile) -> PasswordAccepted:
        # The stamp must be of the hash the password was compared with (read afresh by lock()).
        if _django_argon2(row) != guess.compared_hash:
            raise StaffLoginExpired()
        return PasswordAccepted(row.pk, row.totp_confirmed_at is None, password_stamp(row))

    return check_secret(counter, guess, accepted)


def _recovery_digest(code: str) -> str:
    normalized = "".join(ch for ch in (code or "") if ch.isalnum()).lower()
    key = hashlib.sha256(b"staff-recovery:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, normalized.encode(), hashlib.sha256).hexdigest()


def _new_recovery_codes() -> list[str]:
    return ["-".join(secrets.token_hex(2) for _part in range(3)) for _code in range(RECOVERY_CODES)]


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str
    qr_svg: str


def enrolment_for(staff_id: int, stamp: str) -> Enrolment:
    """The authenticator's secret, shown as a QR code only while it is not confirmed yet (the
    first login, or after an administrator reset it); never shown again afterwards, nor to a
    login whose password was replaced meanwhile."""
    with transaction.atomic():
        profile = _locked_profile(staff_id)
        if (
            profile.totp_confirmed_at is not None
            or not profile.user.is_active
            or not constant_time_compare(stamp, password_stamp(profile))
        ):
            raise StaffLoginExpired()
        try:
            secret = authenticator_secret(profile)
        except Unsealable:
            secret = ""  # sealed under a key changed since, and never confirmed: a new one
        if not secret:
            secret = pyotp.random_base32()
            profile.totp_secret = sealed_authenticator_secret(secret)
            profile.save(update_fields=["totp_secret"])
    uri = pyotp.TOTP(secret).provisioning_uri(name=profile.user.username, issuer_name=ISSUER)
    qr_svg = segno.make(uri, error="m").svg_inline(scale=5, dark="#111", light="#fff")
    return Enrolment(secret, uri, qr_svg)


def _authenticator_secret(profile: StaffProfile) -> str:
    try:
        return authenticator_secret(profile)
    except Unsealable:
        # Sealed under a secret key changed since: no code can be checked, and none counts
        # against the staff member; an administrator resets the authenticator.
        raise StaffAuthenticatorUnreadable()


@dataclass(frozen=True)
class StaffLoggedIn:
    staff_id: int
    # Shown once: at enrolment, the ten recovery codes.
    recovery_codes: list[str]
    # The credentials the session is opened with (`credentials_stamp`), read under the lock.
    credentials: str


def check_staff_code(staff_id: int, code: str, stamp: str, ctx: RequestContext) -> StaffLoggedIn:
    """Second factor: a code from the authenticator app, for a login whose password passed
    with `stamp` (`PasswordAccepted.stamp`). At enrolment the first right code confirms the
    authenticator and issues the recovery codes."""
    profile = StaffProfile.objects.select_related("user", "credit_union").get(pk=staff_id)
    guess = TotpGuess(
        _authenticator_secret,
        lambda row: row.totp_last_step,
        "".join((code or "").split()),
        clock.now().timestamp(),
    )

    def accepted(row: StaffProfile) -> StaffLoggedIn:
        # Under the lock: a parallel login may have used this step since it was compared.
        if guess.matched_step <= row.totp_last_step:
            raise WrongStaffCode()
        row.totp_last_step = guess.matched_step
        codes: list[str] = []
        if row.totp_confirmed_at is None:
            codes = _new_recovery_codes()
            row.totp_confirmed_at = clock.now()
            row.recovery_codes = [_recovery_digest(c) for c in codes]
            record_event(
                "staff_authenticator_enrolled",
                staff_context(row, ctx),
                credit_union_id=row.credit_union_id,
            )
        row.save(update_fields=["totp_last_step", "totp_confirmed_at", "recovery_codes"])
        return _logged_in(row, ctx, codes, "authenticator")

    counter = StaffCodeCounter(profile.pk, _limit(profile, "max_otp_failures"), ctx, stamp)
    return check_secret(counter, guess, accepted)


def check_staff_recovery_code(
    staff_id: int, code: str, stamp: str, ctx: RequestContext
) -> StaffLoggedIn:
    """Second factor without the phone: one of the recovery codes, each usable once, for a
    login whose password passed with `stamp`."""
    profile = StaffProfile.objects.select_related("user", "credit_union").get(pk=staff_id)
    if profile.totp_confirmed_at is None:
        raise StaffLoginExpired()
    guess = AnyDigestGuess(lambda row: list(row.recovery_codes), _recovery_digest(code))

    def accepted(row: StaffProfile) -> StaffLoggedIn:
        # Under the lock: a parallel login may have used this code since it was compared.
        if guess.matched not in row.recovery_codes:
            raise WrongRecoveryCode()
        row.recovery_codes = [d for d in row.recovery_codes if d != guess.matched]
        row.save(update_fields=["recovery_codes"])
        return _logged_in(row, ctx, [], "recovery_code")

    counter = StaffRecoveryCounter(profile.pk, _limit(profile, "max_otp_failures"), ctx, stamp)
    return check_secret(counter, guess, accepted)


def _logged_in(
    row: StaffProfile, ctx: RequestContext, codes: list[str], method: str
) -> StaffLoggedIn:
    reset_count(StaffPasswordCounter(row.pk, 0, ctx), row)
    reset_count(StaffCodeCounter(row.pk, 0, ctx), row)
    record_event(
        "staff_login",
        staff_context(row, ctx),
        credit_union_id=row.credit_union_id,
        data={"method": method, "recovery_codes_left": len(row.recovery_codes)},
    )
    return StaffLoggedIn(row.pk, codes, credentials_stamp(row))


def record_staff_logout(profile: StaffProfile, reason: str, ctx: RequestContext) -> None:
    record_event(
        "staff_logout",
        staff_context(profile, ctx),
        credit_union_id=profile.credit_union_id,
        data={"reason": reason},
    )
