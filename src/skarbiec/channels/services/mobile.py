"""Mobile channel: the state machine of §5, device binding, PIN and fingerprint login (R-M1–R-M9).

States: DISABLED → PENDING (password defined in the web) → ACTIVE (device bound) → BLOCKED
(failures) → PENDING (web reactivation, the only unblock path); any state → DISABLED.

Failure counters follow the pattern of the web channel: an attempt is counted and committed
*before* the secret is checked and given back on success, so parallel requests can never test
more PINs or passwords than the policy allows (R-X4), and a failure outlives the failed request.
The device protocol (signatures, PIN proof) is in `skarbiec.channels.protocol`.
"""

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_registration_response,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorAttachment,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from skarbiec.audit.models import AuditEvent
from skarbiec.audit.services import RequestContext, record_event
from skarbiec.channels import protocol
from skarbiec.channels.devicepolicy import DeviceInfo, check_device_policy
from skarbiec.channels.errors import (
    ActivationInvalid,
    ActivationRefused,
    ChallengeInvalid,
    FingerprintFailed,
    FingerprintNotRegistered,
    MobileChannelBlocked,
    MobileChannelDisabled,
    MobileNotAuthenticated,
    MobileNotOffered,
    PinAlreadySet,
    PinRejected,
    PinRequired,
    SessionExpired,
    SignatureInvalid,
    TransitionNotAllowed,
    UnknownDevice,
    WrongPin,
)
from skarbiec.channels.models import (
    DeviceChallenge,
    FingerprintCredential,
    MobileActivation,
    MobileChannel,
    MobileDevice,
    MobileSession,
)
from skarbiec.channels.services.web import helpline_phones, web_codes_exhausted
from skarbiec.core import clock
from skarbiec.core.attempts import (
    Counter,
    DigestGuess,
    FingerprintGuess,
    Guess,
    PasswordGuess,
    ReportedFailure,
    check_secret,
    reset_count,
)
from skarbiec.core.errors import DomainError, InvalidInput
from skarbiec.core.keys import keyed_hash
from skarbiec.core.password_hashing import hash_password
from skarbiec.core.throttling import (
    UnknownLoginCounter,
    address_failures_limited,
    consume_rate_limit,
)
from skarbiec.members.errors import PasswordRejected
from skarbiec.members.models import CreditUnion, Member
from skarbiec.members.passwords import password_problems
from skarbiec.members.services import member_by_login
from skarbiec.otp.models import Confirmation
from skarbiec.otp.operations import (
    OperationKind,
    confirm_code,
    declare_operation,
    start_confirmation,
    void_confirmations,
)

CHALLENGE_TTL_SECONDS = 60

# Generic challenges sign activation, PIN setting, PIN login and failed-fingerprint reports;
# WebAuthn challenges are bound to one device and one ceremony.
CHALLENGE_DEVICE = "device"
CHALLENGE_WEBAUTHN_REGISTER = "webauthn_register"
CHALLENGE_WEBAUTHN_LOGIN = "webauthn_login"

_BLOCKABLE = (MobileChannel.State.ACTIVE, MobileChannel.State.PENDING)

_COMMON_PINS = frozenset(
    {
        "12345", "54321", "00000", "11111", "12321", "13579", "24680", "11223", "10101",
        "1234", "4321", "0000", "1111", "1212", "6969", "2580", "1004", "2000", "7777",
        "123456", "654321", "000000", "111111", "121212", "112233", "123123", "696969",
        "159753", "147258", "258369", "123321", "102030", "2468", "1357", "1122",
    }
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Results handed to the web pages and the API


@dataclass(frozen=True)
class DeviceOverview:
    device_id: str
    name: str
    platform: str
    os_version: str
    app_version: str
    activated_at: datetime
    last_used_at: datetime | None
    fingerprint_enabled: bool


@dataclass(frozen=True)
class MobileChannelOverview:
    """What Settings → Access channels / Devices show (R-W4, R-W6)."""

    state: str
    offered: bool
    device: DeviceOverview | None
    blocked_at: datetime | None
    can_activate_channel: bool  # R-W4: DISABLED → PENDING
    can_reactivate_app: bool  # R-W5: blocked, or no device
    can_deactivate: bool


@dataclass(frozen=True)
class IssuedChallenge:
    challenge: str  # base64url, signed verbatim in the canonical message
    expires_at: datetime


@dataclass(frozen=True)
class ActivationStarted:
    """Identification data accepted. With `otp_required` the SMS code confirms the binding
    (`confirm_mobile_device_activation`); otherwise the device is already bound."""

    otp_required: bool
    activation_id: str | None
    device_id: str | None
    pin_length: int


@dataclass(frozen=True)
class BoundDevice:
    device_id: str
    pin_length: int


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


# ---------------------------------------------------------------------------------------------
# Helpers


def _now() -> datetime:
    return clock.now()


def _blocked(policy: CreditUnion | None) -> MobileChannelBlocked:
    return MobileChannelBlocked(helpline=helpline_phones(policy))


def _audit(event: str, member: Member, ctx: RequestContext, **data: Any) -> None:
    record_event(
        event, ctx, credit_union_id=member.credit_union_id, member_id=member.pk, data=data or None
    )


def _revoke_sessions(member: Member, reason: str, device: MobileDevice | None = None) -> int:
    sessions = MobileSession.objects.filter(member=member, revoked_at__isnull=True)
    if device is not None:
        sessions = sessions.filter(device=device)
    return sessions.update(revoked_at=_now(), revoke_reason=reason)


def _remove_devices(member: Member, reason: str) -> list[str]:
    devices = list(
        MobileDevice.objects.filter(member=member, state=MobileDevice.State.ACTIVE).values_list(
            "device_id", flat=True
        )
    )
    MobileDevice.objects.filter(member=member, state=MobileDevice.State.ACTIVE).update(
        state=MobileDevice.State.REMOVED, removed_at=_now(), removed_reason=reason
    )
    return devices


def _lock_channel(member: Member) -> MobileChannel:
    # Only the channel row is locked (of=self), not the member or credit union it is read with.
    return (
        MobileChannel.objects.select_for_update(of=("self",))
        .select_related("member__credit_union")
        .get(member=member)
    )


def _has_device(member: Member) -> bool:
    return MobileDevice.objects.filter(member=member, state=MobileDevice.State.ACTIVE).exists()


@contextmanager
def _limits(scope: str, subject: str, ctx: RequestContext) -> Iterator[None]:
    """Every attempt counts per Login or device; per address only failures do (R-X10)."""
    per_addr, window_a = settings.RATE_LIMIT_PER_ADDRESS
    per_subject, window_s = settings.RATE_LIMIT_PER_LOGIN
    with address_failures_limited("mobile-addr", ctx.ip_address, per_addr, window_a):
        consume_rate_limit(f"mobile-{scope}", subject or "-", per_subject, window_s)
        yield


# ---------------------------------------------------------------------------------------------
# State machine transitions


def block_mobile_channel(member: Member, reason: str, ctx: RequestContext) -> None:
    """Any state → BLOCKED (a no-op when blocked already); revokes every session. Joins the
    caller's transaction (e.g. three wrong SMS codes authorising an order in the app, R-O4).
    A DISABLED channel is blocked too: three wrong activation attempts on it count like any
    others (R-X6), and the way out is the same (R-W5)."""
    with transaction.atomic():
        channel = _lock_channel(member)
        if channel.state == MobileChannel.State.BLOCKED:
            return
        previous = channel.state
        channel.state = MobileChannel.State.BLOCKED
        channel.blocked_at = _now()
        channel.block_reason = reason[:32]
        channel.changed_at = channel.blocked_at
        channel.save(update_fields=["state", "blocked_at", "block_reason", "changed_at"])
        revoked = _revoke_sessions(member, "channel_blocked")
        _audit(
            "mobile_channel_blocked", member, ctx, reason=reason, previous=previous,
            sessions_revoked=revoked,
        )  # fmt: skip


def _new_password_problems(member: Member, password: str, repeated: str) -> list[str]:
    # Not compared with the web password: that would test the web password for anyone holding
    # a web session, uncounted (R-X6). The two passwords are separate secrets with separate
    # counters; nothing in the spec asks them to differ.
    problems: list[str] = []
    if password != repeated:
        problems.append(_("The two passwords are different."))
    return problems + password_problems(password, member.login)


def _new_password_codes_exhausted(confirmation: Confirmation, ctx: RequestContext) -> DomainError:
    # R-O4 in the web: three wrong codes cancel the new password and count toward the web
    # lockout, in the transaction of the last wrong code.
    MobileChannel.objects.filter(
        member=confirmation.member, pending_password_otp_id=confirmation.pk
    ).update(pending_password_hash="", pending_password_otp_id=None)
    return web_codes_exhausted(confirmation.member, None, ctx)


def _channel_activation_sms(member: Member, details: dict[str, Any], code: str) -> str:
    return _(
        "%(cu)s: code %(code)s to activate the mobile app channel and set its password. Never "
        "give it to anyone."
    ) % {"cu": member.credit_union.name, "code": code}


def _app_reactivation_sms(member: Member, details: dict[str, Any], code: str) -> str:
    return _(
        "%(cu)s: code %(code)s to activate the mobile app again with a new password. Never give "
        "it to anyone."
    ) % {"cu": member.credit_union.name, "code": code}


MOBILE_CHANNEL_ACTIVATION = declare_operation(
    OperationKind(
        "mobile_channel_activation", _channel_activation_sms, _new_password_codes_exhausted
    )
)
MOBILE_APP_REACTIVATION = declare_operation(
    OperationKind("mobile_app_reactivation", _app_reactivation_sms, _new_password_codes_exhausted)
)


def _request_new_password(
    member: Member, password: str, repeated: str, operation: OperationKind, ctx: RequestContext
) -> int:
    problems = _new_password_problems(member, password, repeated)
    if problems:
        raise PasswordRejected(problems)
    password_hash = hash_password(password)
    with transaction.atomic():
        channel = _lock_channel(member)
        _require_transition(member, channel, operation)
        confirmation = start_confirmation(
            operation, member, details={"member": member.pk}, channel="web", ctx=ctx
        )
        channel.pending_password_hash = password_hash
        channel.pending_password_otp_id = confirmation.pk
        channel.save(update_fields=["pending_password_hash", "pending_password_otp_id"])
        _audit("mobile_password_requested", member, ctx, operation=operation.name)
    return confirmation.pk


def _require_transition(member: Member, channel: MobileChannel, operation: OperationKind) -> None:
    if not member.credit_union.offers_mobile_app:
        raise MobileNotOffered()
    if operation is MOBILE_CHANNEL_ACTIVATION:
        allowed = channel.state == MobileChannel.State.DISABLED
    else:
        allowed = channel.state == MobileChannel.State.BLOCKED or (
            channel.state in _BLOCKABLE and not _has_device(member)
        )
    if not allowed:
        raise TransitionNotAllowed()


def _confirm_new_password(
    member: Member, otp_id: int, code: str, operation: OperationKind, ctx: RequestContext
) -> None:
    with _limits("code", member.login, ctx):
        confirm_code(operation, otp_id, member, {"member": member.pk}, code, ctx)
    with transaction.atomic():
        channel = _lock_channel(member)
        if channel.pending_password_otp_id != otp_id or not channel.pending_password_hash:
            raise ActivationInvalid()
        _require_transition(member, channel, operation)
        previous = channel.state
        channel.state = MobileChannel.State.PENDING
        channel.password_hash = channel.pending_password_hash
        channel.pending_password_hash = ""
        channel.pending_password_otp_id = None
        channel.failed_password_attempts = 0
        channel.failed_auth_attempts = 0
        channel.blocked_at = None
        channel.block_reason = ""
        channel.changed_at = _now()
        channel.save()
        # A blocked device stays unusable: activation in the app binds the device anew.
        removed = _remove_devices(member, "reactivated")
        _revoke_sessions(member, "reactivated")
        event = (
            "mobile_channel_activated"
            if operation is MOBILE_CHANNEL_ACTIVATION
            else "mobile_app_reactivated"
        )
        _audit(event, member, ctx, previous=previous, devices_removed=removed)


def request_mobile_channel_activation(
    member: Member, password: str, repeated: str, ctx: RequestContext
) -> int:
    """R-W4 step 1: DISABLED → (code sent). Defines the mobile-app password (R-P1); returns the
    id of the SMS code to confirm with."""
    return _request_new_password(member, password, repeated, MOBILE_CHANNEL_ACTIVATION, ctx)


def confirm_mobile_channel_activation(
    member: Member, otp_id: int, code: str, ctx: RequestContext
) -> None:
    """R-W4 step 2: the SMS code; DISABLED → PENDING."""
    _confirm_new_password(member, otp_id, code, MOBILE_CHANNEL_ACTIVATION, ctx)


def request_mobile_app_reactivation(
    member: Member, password: str, repeated: str, ctx: RequestContext
) -> int:
    """R-W5 step 1: allowed while BLOCKED or without a bound device; the only unblock path."""
    return _request_new_password(member, password, repeated, MOBILE_APP_REACTIVATION, ctx)


def confirm_mobile_app_reactivation(
    member: Member, otp_id: int, code: str, ctx: RequestContext
) -> None:
    """R-W5 step 2: the SMS code; BLOCKED/PENDING/ACTIVE-without-device → PENDING."""
    _confirm_new_password(member, otp_id, code, MOBILE_APP_REACTIVATION, ctx)


def deactivate_mobile_channel(member: Member, ctx: RequestContext) -> None:
    """R-W4, R-M7: any state → DISABLED; device unbound, password void, sessions revoked."""
    with transaction.atomic():
        channel = _lock_channel(member)
        previous = channel.state
        channel.state = MobileChannel.State.DISABLED
        channel.password_hash = ""
        channel.pending_password_hash = ""
        channel.pending_password_otp_id = None
        channel.failed_password_attempts = 0
        channel.failed_auth_attempts = 0
        channel.blocked_at = None
        channel.block_reason = ""
        channel.changed_at = _now()
        channel.save()
        removed = _remove_devices(member, "deactivated")
        revoked = _revoke_sessions(member, "deactivated")
        for operation in (MOBILE_CHANNEL_ACTIVATION, MOBILE_APP_REACTIVATION):
            void_confirmations(member, operation)
        _audit(
            "mobile_channel_deactivated", member, ctx, previous=previous,
            devices_removed=removed, sessions_revoked=revoked,
        )  # fmt: skip


def remove_mobile_device(member: Member, device_id: str, ctx: RequestContext) -> None:
    """R-W6: unbind the device; ACTIVE → PENDING (the password stays, the app can be
    activated again). A BLOCKED channel stays BLOCKED."""
    with transaction.atomic():
        channel = _lock_channel(member)
        device = MobileDevice.objects.filter(
            member=member, device_id=device_id, state=MobileDevice.State.ACTIVE
        ).first()
        if device is None:
            raise UnknownDevice()
        device.state = MobileDevice.State.REMOVED
        device.removed_at = _now()
        device.removed_reason = "removed_by_member"
        device.save(update_fields=["state", "removed_at", "removed_reason"])
        revoked = _revoke_sessions(member, "device_removed", device)
        if channel.state == MobileChannel.State.ACTIVE:
            channel.state = MobileChannel.State.PENDING
            channel.failed_auth_attempts = 0
            channel.changed_at = _now()
            channel.save(update_fields=["state", "failed_auth_attempts", "changed_at"])
        _audit("mobile_device_removed", member, ctx, device=device_id, sessions_revoked=revoked)


def mobile_channel_overview(member: Member) -> MobileChannelOverview:
    channel = MobileChannel.objects.get(member=member)
    device = (
        MobileDevice.objects.filter(member=member, state=MobileDevice.State.ACTIVE)
        .order_by("-activated_at")
        .first()
    )
    offered = member.credit_union.offers_mobile_app
    overview = None
    if device is not None:
        overview = DeviceOverview(
            device_id=device.device_id,
            name=device.name,
            platform=device.platform,
            os_version=device.os_version,
            app_version=device.app_version,
            activated_at=device.activated_at,
            last_used_at=device.last_used_at,
            fingerprint_enabled=device.credentials.exists(),
        )
    state = MobileChannel.State(channel.state)
    return MobileChannelOverview(
        state=state.value,
        offered=offered,
        device=overview,
        blocked_at=channel.blocked_at,
        can_activate_channel=offered and state == MobileChannel.State.DISABLED,
        can_reactivate_app=offered
        and (state == MobileChannel.State.BLOCKED or (state in _BLOCKABLE and device is None)),
        can_deactivate=state != MobileChannel.State.DISABLED,
    )


# ---------------------------------------------------------------------------------------------
# Challenges and signed device requests (R-M2, R-M3)


def _challenge_hash(challenge: str) -> str:
    return keyed_hash("device-challenge", challenge)


def issue_challenge(purpose: str = CHALLENGE_DEVICE, device_id: str = "") -> IssuedChallenge:
    """A fresh single-use challenge valid 60 s, stored (hashed) in the database."""
    raw = secrets.token_bytes(32)
    challenge = protocol.b64url_encode(raw)
    now = _now()
    expires = now + timedelta(seconds=CHALLENGE_TTL_SECONDS)
    DeviceChallenge.objects.create(
        challenge_hash=_challenge_hash(challenge),
        purpose=purpose,
        device_id=device_id,
        created_at=now,
        expires_at=expires,
    )
    return IssuedChallenge(challenge=challenge, expires_at=expires)


def purge_stale_device_data(older_than_seconds: int = 3600) -> int:
    """Delete expired challenges and activations (for the worker); returns rows deleted."""
    cutoff = _now() - timedelta(seconds=older_than_seconds)
    challenges, _c = DeviceChallenge.objects.filter(expires_at__lt=cutoff).delete()
    activations, _a = MobileActivation.objects.filter(expires_at__lt=cutoff).delete()
    return challenges + activations


def _consume_challenge(challenge: str, purpose: str, device_id: str = "") -> None:
    """Use the challenge exactly once: one conditional UPDATE, so two parallel requests with
    the same challenge cannot both pass."""
    if not isinstance(challenge, str) or not 20 <= len(challenge) <= 100:
        raise ChallengeInvalid()
    now = _now()
    used = DeviceChallenge.objects.filter(
        challenge_hash=_challenge_hash(challenge),
        purpose=purpose,
        device_id=device_id,
        used_at__isnull=True,
        expires_at__gt=now,
    ).update(used_at=now)
    if used != 1:
        raise ChallengeInvalid()


def _signed_by(
    key_der: bytes | memoryview,
    action: str,
    challenge: str,
    device_id: str,
    payload: dict[str, Any],
    signature: str,
) -> None:
    key = protocol.load_public_key(protocol.b64url_encode(bytes(key_der)))
    message = protocol.canonical_message(action, challenge, device_id, payload)
    if not protocol.verify_signature(key, signature or "", message):
        raise SignatureInvalid()


def _active_device(device_id: str) -> MobileDevice:
    device = (
        MobileDevice.objects.select_related("member__credit_union")
        .filter(device_id=str(device_id or "")[:43], state=MobileDevice.State.ACTIVE)
        .first()
    )
    if device is None:
        raise UnknownDevice()
    return device


def _verify_device_request(
    device: MobileDevice,
    action: str,
    challenge: str,
    signature: str,
    payload: dict[str, Any],
    purpose: str = CHALLENGE_DEVICE,
) -> None:
    """The challenge is consumed first: a replay is refused even with a valid signature, and a
    wrong signature burns the challenge."""
    _consume_challenge(challenge, purpose, device.device_id if purpose != CHALLENGE_DEVICE else "")
    _signed_by(device.public_key, action, challenge, device.device_id, payload, signature)


def _require_usable_channel(member: Member) -> MobileChannel:
    policy = member.credit_union
    if not policy.offers_mobile_app:
        raise MobileNotOffered()
    channel = MobileChannel.objects.get(member=member)
    if channel.state == MobileChannel.State.BLOCKED:
        raise _blocked(policy)
    if channel.state == MobileChannel.State.DISABLED:
        raise MobileChannelDisabled()
    return channel


# ---------------------------------------------------------------------------------------------
# Activation in the app (R-M1, R-M2, R-M6)


class MobilePasswordCounter(Counter[MobileChannel]):
    """Wrong mobile-app passwords at activation (R-M2). Every activation attempt for a real
    Login is counted here whatever the channel's state, and compared against the password only
    a PENDING or ACTIVE channel of a credit union offering the app has: a DISABLED channel, a
    credit union without the app and a wrong password give the same answers (R-X6, R-T3)."""

    field = "failed_password_attempts"

    def __init__(self, member: Member, ctx: RequestContext) -> None:
        self.member = member
        self.ctx = ctx
        self.limit = member.credit_union.max_auth_failures

    def lock(self) -> MobileChannel:
        return _lock_channel(self.member)

    def refusal(self, row: MobileChannel) -> DomainError | None:
        if row.state == MobileChannel.State.BLOCKED:
            return _blocked(self.member.credit_union)
        return None

    def exhausted(self, row: MobileChannel) -> DomainError:
        return _blocked(self.member.credit_union)

    def accept(self, row: MobileChannel) -> None:
        if _activation_password(row) is None:  # deactivated meanwhile
            raise ActivationRefused()
        reset_count(self, row)
        _audit("mobile_password_accepted", self.member, self.ctx)

    def reject(self, row: MobileChannel) -> DomainError:
        if not self.member.credit_union.offers_mobile_app:
            reason = "mobile_not_offered"
        elif row.state == MobileChannel.State.DISABLED:
            reason = "channel_disabled"
        else:
            reason = "wrong_password"
        _audit(
            "mobile_activation_failed", self.member, self.ctx, reason=reason,
            failed_attempts=row.failed_password_attempts,
        )  # fmt: skip
        if row.failed_password_attempts >= self.limit:
            block_mobile_channel(self.member, "wrong_passwords", self.ctx)
            return _blocked(self.member.credit_union)
        return ActivationRefused(attempts_left=self.attempts_left(row))


def _activation_password(channel: MobileChannel) -> str | None:
    """The mobile-app password an activation is compared with, or None where none may be."""
    offered = channel.member.credit_union.offers_mobile_app
    usable = channel.state in (MobileChannel.State.PENDING, MobileChannel.State.ACTIVE)
    return channel.password_hash if offered and usable and channel.password_hash else None


def _unknown_login_counter(login: str) -> UnknownLoginCounter:
    """Unknown Logins walk through the same answers as real ones (R-T3)."""
    return UnknownLoginCounter(
        "unknown-mobile-login",
        login,
        CreditUnion._meta.get_field("max_auth_failures").get_default(),
        wrong=lambda left: ActivationRefused(attempts_left=left),
        blocked=lambda: _blocked(None),
    )


def _chosen_credit_union(sort_code: str) -> CreditUnion | None:
    """The credit union the app was set up for, when it says so (R-M1): an app of a credit
    union without the app is told before any secret is asked for."""
    if not sort_code:
        return None
    credit_union = CreditUnion.objects.filter(sort_code=str(sort_code).strip()).first()
    if credit_union is None:
        raise InvalidInput(_("Unknown credit union."))
    if not credit_union.offers_mobile_app:
        raise MobileNotOffered()
    return credit_union


def _device_activation_sms(member: Member, details: dict[str, Any], code: str) -> str:
    return _(
        "%(cu)s: code %(code)s to activate the mobile app on a new device. If you are not doing "
        "this, do not give the code to anyone and call us."
    ) % {"cu": member.credit_union.name, "code": code}


def _device_activation_codes_exhausted(
    confirmation: Confirmation, ctx: RequestContext
) -> DomainError:
    """Three wrong codes binding a new device block the app (R-O4): otherwise whoever knows the
    mobile-app password could start activations again and again, three codes each."""
    MobileActivation.objects.filter(otp_id=confirmation.pk, used_at__isnull=True).update(
        used_at=_now()
    )
    block_mobile_channel(confirmation.member, "wrong_codes", ctx)
    return _blocked(confirmation.member.credit_union)


MOBILE_DEVICE_ACTIVATION = declare_operation(
    OperationKind(
        "mobile_device_activation", _device_activation_sms, _device_activation_codes_exhausted
    )
)


def activate_mobile_device(
    login: str,
    password: str,
    public_key: str | dict[str, Any],
    device: DeviceInfo,
    challenge: str,
    signature: str,
    ctx: RequestContext,
    credit_union: str = "",
) -> ActivationStarted:
    """R-M2: Login + mobile-app password from the app, with the device's public key signing a
    fresh challenge. Every attempt is counted before any comparison (R-X6); three wrong ones
    block the channel. `credit_union`: the sort code the app was set up for, if it knows it."""
    login = (login or "").strip()
    with _limits("login", login, ctx):
        try:
            key = protocol.load_public_key(public_key)
        except protocol.ProtocolError:
            raise InvalidInput(_("The device key must be an ECDSA P-256 public key."))
        key_der = protocol.public_key_der(key)
        _consume_challenge(challenge, CHALLENGE_DEVICE)
        payload = {"login": login, "public_key": protocol.b64url_encode(key_der)}
        _signed_by(key_der, protocol.ACTIVATE, challenge, "", payload, signature)
        chosen = _chosen_credit_union(credit_union)
        member = member_by_login(login)
        if member is None or (chosen is not None and member.credit_union_id != chosen.pk):
            check_secret(_unknown_login_counter(login), PasswordGuess(None, password))
            raise AssertionError("a password never matches an unknown Login")
        check_secret(
            MobilePasswordCounter(member, ctx), PasswordGuess(_activation_password, password)
        )
    policy = member.credit_union
    try:
        verdict = check_device_policy(policy, device)
    except DomainError as refusal:
        with transaction.atomic():
            _audit("mobile_device_refused", member, ctx, reason=refusal.code, **device.as_dict())
        raise
    if not policy.activation_requires_otp:
        with transaction.atomic():
            bound = _bind_device(member, key_der, device.as_dict(), ctx, verdict.verified)
        return ActivationStarted(False, None, bound.device_id, policy.pin_length)

    activation_id = secrets.token_urlsafe(24)
    with transaction.atomic():
        confirmation = start_confirmation(
            MOBILE_DEVICE_ACTIVATION,
            member,
            details={"activation": activation_id},
            channel="mobile",
            ctx=ctx,
        )
        MobileActivation.objects.create(
            member=member,
            activation_id=activation_id,
            otp_id=confirmation.pk,
            public_key=key_der,
            device_info={**device.as_dict(), "attested": verdict.verified},
            created_at=_now(),
            expires_at=confirmation.code_expires_at,
        )
    return ActivationStarted(True, activation_id, None, policy.pin_length)


def confirm_mobile_device_activation(
    activation_id: str, code: str, ctx: RequestContext
) -> BoundDevice:
    """R-M2 (policy: activation needs an SMS code): the code binds the device."""
    activation = (
        MobileActivation.objects.select_related("member__credit_union")
        .filter(activation_id=str(activation_id or "")[:43], used_at__isnull=True)
        .first()
    )
    if activation is None or activation.expires_at <= _now():
        raise ActivationInvalid()
    member = activation.member
    with _limits("code", member.login, ctx):
        _require_usable_channel(member)
        confirm_code(
            MOBILE_DEVICE_ACTIVATION,
            activation.otp_id,
            member,
            {"activation": activation.activation_id},
            code,
            ctx,
        )
    with transaction.atomic():
        used = MobileActivation.objects.filter(pk=activation.pk, used_at__isnull=True).update(
            used_at=_now()
        )
        if not used:
            raise ActivationInvalid()
        info = dict(activation.device_info)
        attested = bool(info.pop("attested", False))
        return _bind_device(member, bytes(activation.public_key), info, ctx, attested)


def _bind_device(
    member: Member, key_der: bytes, info: dict[str, Any], ctx: RequestContext, attested: bool
) -> BoundDevice:
    """PENDING/ACTIVE → ACTIVE with this device; an older device is unbound and its sessions
    revoked (R-M6). In the caller's transaction."""
    channel = _lock_channel(member)
    if channel.state == MobileChannel.State.BLOCKED:
        raise _blocked(member.credit_union)
    if channel.state not in _BLOCKABLE:
        raise MobileChannelDisabled()
    replaced = _remove_devices(member, "replaced")
    _revoke_sessions(member, "device_replaced")
    now = _now()
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
    channel.failed_auth_attempts = 0
    channel.changed_at = now
    channel.save(update_fields=["state", "failed_auth_attempts", "changed_at"])
    _audit(
        "mobile_device_activated", member, ctx, device=device.device_id, previous=previous,
        replaced=replaced, attested=attested, platform=info.get("platform"),
        os_version=info.get("os_version"),
    )  # fmt: skip
    return BoundDevice(device_id=device.device_id, pin_length=member.credit_union.pin_length)


# ---------------------------------------------------------------------------------------------
# PIN (R-M2, R-M3)


def pin_problems(pin: str, length: int) -> list[str]:
    """Why a PIN is refused; empty when acceptable."""
    if not isinstance(pin, str) or not pin.isascii() or not pin.isdigit():
        return [_("The PIN may contain digits only.")]
    if len(pin) != length:
        return [_("The PIN must have exactly %(n)d digits.") % {"n": length}]
    digits = [int(c) for c in pin]
    steps = {b - a for a, b in zip(digits, digits[1:], strict=False)}
    if len(set(digits)) == 1:
        return [_("The PIN must not be one digit repeated.")]
    if steps in ({1}, {-1}):
        return [_("The PIN must not be a run of consecutive digits.")]
    repeats = any((pin[:p] * len(pin))[: len(pin)] == pin for p in (2, len(pin) // 2))
    if pin in _COMMON_PINS or repeats:
        return [_("This PIN is too easy to guess.")]
    return []


def _pin_proof_hash(device_id: str, proof: str) -> str:
    return keyed_hash("pin-proof", device_id, proof.lower())


def _valid_proof(proof: str) -> str:
    proof = str(proof or "")
    if len(proof) != 64 or any(c not in "0123456789abcdefABCDEF" for c in proof):
        raise InvalidInput(_("The PIN proof must be 64 hexadecimal characters."))
    return proof.lower()


def set_pin(
    device_id: str, pin: str, proof: str, challenge: str, signature: str, ctx: RequestContext
) -> MobileSessionToken:
    """R-M2: right after activation the member sets the PIN. The PIN itself travels once
    (TLS) so the server can refuse trivial PINs; it is never stored. What is stored is a keyed
    hash of the proof HMAC(device_secret, PIN), useless without the device secret. Returns a
    session: the member has just proved password, SMS code and device key."""
    with _limits("device", str(device_id), ctx):
        device = _active_device(device_id)
        proof = _valid_proof(proof)
        _verify_device_request(device, protocol.SET_PIN, challenge, signature, {"pin_proof": proof})
    member = device.member
    _require_usable_channel(member)
    problems = pin_problems(pin, member.credit_union.pin_length)
    if problems:
        raise PinRejected(problems[0], problems=problems)
    with transaction.atomic():
        channel = _lock_channel(member)
        locked = MobileDevice.objects.select_for_update().get(pk=device.pk)
        if locked.state != MobileDevice.State.ACTIVE:
            raise UnknownDevice()
        if locked.pin_proof_hash:
            raise PinAlreadySet()
        if channel.state != MobileChannel.State.ACTIVE:
            raise _blocked(member.credit_union)
        locked.pin_proof_hash = _pin_proof_hash(locked.device_id, proof)
        locked.last_used_at = _now()
        locked.save(update_fields=["pin_proof_hash", "last_used_at"])
        _audit("mobile_pin_set", member, ctx, device=locked.device_id)
        return _open_session(member, locked)


# ---------------------------------------------------------------------------------------------
# PIN and fingerprint login: one counter (R-M5, R-X4, R-X6)


class AuthCounter(Counter[MobileChannel]):
    """Consecutive failed PIN and fingerprint attempts together (R-M5): a success resets the
    count, the limit blocks the app."""

    field = "failed_auth_attempts"

    def __init__(
        self,
        member: Member,
        device: MobileDevice,
        method: str,
        wrong: type[DomainError],
        ctx: RequestContext,
    ) -> None:
        self.member = member
        self.device = device
        self.method = method
        self.wrong = wrong
        self.ctx = ctx
        self.limit = member.credit_union.max_auth_failures

    def lock(self) -> MobileChannel:
        return _lock_channel(self.member)

    def refusal(self, row: MobileChannel) -> DomainError | None:
        if row.state == MobileChannel.State.DISABLED:
            return MobileChannelDisabled()
        if row.state != MobileChannel.State.ACTIVE:
            return _blocked(self.member.credit_union)
        return None

    def exhausted(self, row: MobileChannel) -> DomainError:
        return _blocked(self.member.credit_union)

    def accept(self, row: MobileChannel) -> None:
        reset_count(self, row)

    def reject(self, row: MobileChannel) -> DomainError:
        _audit(
            "mobile_login_failed", self.member, self.ctx, method=self.method,
            device=self.device.device_id, failed_attempts=row.failed_auth_attempts,
        )  # fmt: skip
        if row.failed_auth_attempts >= self.limit:
            block_mobile_channel(self.member, f"{self.method}_failures", self.ctx)
            return _blocked(self.member.credit_union)
        return self.wrong(attempts_left=self.attempts_left(row))


def _login_with(
    member: Member,
    device: MobileDevice,
    method: str,
    wrong: type[DomainError],
    guess: Guess,
    ctx: RequestContext,
    before_session: Any = None,
) -> MobileSessionToken:
    """Check the PIN proof or fingerprint through the attempts mechanism; on success open a
    session in the same transaction as the reset (the device must still be bound)."""

    def logged_in(channel: MobileChannel) -> MobileSessionToken:
        if not MobileDevice.objects.filter(pk=device.pk, state=MobileDevice.State.ACTIVE).exists():
            raise UnknownDevice()
        if before_session is not None:
            before_session()
        MobileDevice.objects.filter(pk=device.pk).update(last_used_at=_now())
        _audit("mobile_login", member, ctx, method=method, device=device.device_id)
        return _open_session(member, device)

    return check_secret(AuthCounter(member, device, method, wrong, ctx), guess, logged_in)


def _check_device_at_login(member: Member, device: MobileDevice, info: DeviceInfo | None) -> None:
    if info is None:
        return
    # The stored platform fills a report that omits it (a native app may send the version only).
    if not info.platform and device.platform:
        info = DeviceInfo(**{**info.__dict__, "platform": device.platform})
    check_device_policy(member.credit_union, info)


def pin_login(
    device_id: str,
    proof: str,
    challenge: str,
    signature: str,
    ctx: RequestContext,
    device_info: DeviceInfo | None = None,
) -> MobileSessionToken:
    """R-M3, R-M5: the PIN proof, signed with a fresh challenge by the device key."""
    with _limits("device", str(device_id), ctx):
        device = _active_device(device_id)
        proof = _valid_proof(proof)
        _verify_device_request(
            device, protocol.LOGIN_PIN, challenge, signature, {"pin_proof": proof}
        )
        member = device.member
        _require_usable_channel(member)
        if not device.pin_proof_hash:
            raise PinRequired()
        _check_device_at_login(member, device, device_info)
        guess = DigestGuess(device.pin_proof_hash, _pin_proof_hash(device.device_id, proof))
        return _login_with(member, device, "pin", WrongPin, guess, ctx)


def report_failed_fingerprint(
    device_id: str, challenge: str, signature: str, ctx: RequestContext
) -> int:
    """R-M4: the app reports a fingerprint the phone did not recognise; it counts like a wrong
    PIN. Returns the attempts left; raises channel_blocked at the limit."""
    with _limits("device", str(device_id), ctx):
        device = _active_device(device_id)
        _verify_device_request(device, protocol.FINGERPRINT_FAILED, challenge, signature, {})
        member = device.member
        _require_usable_channel(member)
        try:
            _login_with(member, device, "fingerprint", FingerprintFailed, ReportedFailure(), ctx)
        except FingerprintFailed as e:
            return int(e.details["attempts_left"])
    raise AssertionError("a reported failure never opens a session")  # pragma: no cover


# ---------------------------------------------------------------------------------------------
# Fingerprint = WebAuthn with user verification (R-M4)


def webauthn_rp() -> tuple[str, str]:
    """(rp_id, origin) from the public URL (R-X1)."""
    parts = urlsplit(settings.PUBLIC_URL)
    return parts.hostname or "localhost", f"{parts.scheme}://{parts.netloc}"


def fingerprint_registration_options(session: MobileSessionInfo) -> dict[str, Any]:
    """WebAuthn creation options for a platform authenticator, user verification required."""
    member, device = session.member, session.device
    _require_usable_channel(member)
    challenge = issue_challenge(CHALLENGE_WEBAUTHN_REGISTER, device.device_id)
    rp_id, _origin = webauthn_rp()
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=member.credit_union.name,
        user_id=device.device_id.encode(),
        user_name=member.login,
        user_display_name=member.full_name,
        challenge=protocol.b64_decode(challenge.challenge),
        timeout=CHALLENGE_TTL_SECONDS * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            authenticator_attachment=AuthenticatorAttachment.PLATFORM,
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=protocol.b64_decode(c.credential_id))
            for c in device.credentials.all()
        ],
    )
    return json.loads(options_to_json(options))


def register_fingerprint(
    session: MobileSessionInfo, challenge: str, credential: dict[str, Any], ctx: RequestContext
) -> None:
    member, device = session.member, session.device
    _require_usable_channel(member)
    _consume_challenge(challenge, CHALLENGE_WEBAUTHN_REGISTER, device.device_id)
    rp_id, origin = webauthn_rp()
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=protocol.b64_decode(challenge),
            expected_rp_id=rp_id,
            expected_origin=origin,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as e:
        raise FingerprintFailed(
            _("The fingerprint could not be registered: %(why)s") % {"why": str(e)[:200]}
        )
    with transaction.atomic():
        if FingerprintCredential.objects.filter(
            credential_id=protocol.b64url_encode(verified.credential_id)
        ).exists():
            raise InvalidInput(_("This fingerprint credential is already registered."))
        FingerprintCredential.objects.create(
            device=device,
            credential_id=protocol.b64url_encode(verified.credential_id),
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            created_at=_now(),
        )
        _audit("mobile_fingerprint_registered", member, ctx, device=device.device_id)


def fingerprint_login_options(device_id: str, ctx: RequestContext) -> dict[str, Any]:
    with _limits("device", str(device_id), ctx):
        device = _active_device(device_id)
    _require_usable_channel(device.member)
    credentials = list(device.credentials.all())
    if not credentials:
        raise FingerprintNotRegistered()
    challenge = issue_challenge(CHALLENGE_WEBAUTHN_LOGIN, device.device_id)
    rp_id, _origin = webauthn_rp()
    options = generate_authentication_options(
        rp_id=rp_id,
        challenge=protocol.b64_decode(challenge.challenge),
        timeout=CHALLENGE_TTL_SECONDS * 1000,
        allow_credentials=[
            PublicKeyCredentialDescriptor(id=protocol.b64_decode(c.credential_id))
            for c in credentials
        ],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return json.loads(options_to_json(options))


def fingerprint_login(
    device_id: str,
    challenge: str,
    credential: dict[str, Any],
    signature: str,
    ctx: RequestContext,
    device_info: DeviceInfo | None = None,
) -> MobileSessionToken:
    """R-M4, R-M5: a WebAuthn assertion with user verification, plus the device key's
    signature over the same challenge (so only the bound device can spend attempts)."""
    with _limits("device", str(device_id), ctx):
        device = _active_device(device_id)
        credential_id = str((credential or {}).get("id") or "")
        _verify_device_request(
            device,
            protocol.LOGIN_FINGERPRINT,
            challenge,
            signature,
            {"credential_id": credential_id},
            purpose=CHALLENGE_WEBAUTHN_LOGIN,
        )
        member = device.member
        _require_usable_channel(member)
        _check_device_at_login(member, device, device_info)
        stored = FingerprintCredential.objects.filter(
            device=device, credential_id=credential_id
        ).first()
        rp_id, origin = webauthn_rp()
        guess = FingerprintGuess(
            credential if isinstance(credential, dict) else {},
            challenge=protocol.b64_decode(challenge),
            rp_id=rp_id,
            origin=origin,
            public_key=bytes(stored.public_key) if stored is not None else None,
            sign_count=stored.sign_count if stored is not None else 0,
        )

        def count_signature() -> None:
            assert stored is not None  # the guess matched a stored credential
            FingerprintCredential.objects.filter(pk=stored.pk).update(
                sign_count=guess.new_sign_count, last_used_at=_now()
            )

        return _login_with(
            member, device, "fingerprint", FingerprintFailed, guess, ctx, count_signature
        )


# ---------------------------------------------------------------------------------------------
# Sessions (R-M9)


def _token_hash(token: str) -> str:
    return keyed_hash("mobile-session", token)


def _open_session(member: Member, device: MobileDevice) -> MobileSessionToken:
    policy = member.credit_union
    token = secrets.token_urlsafe(32)
    now = _now()
    absolute = now + timedelta(seconds=policy.session_absolute_seconds)
    MobileSession.objects.create(
        token_hash=_token_hash(token),
        member=member,
        device=device,
        created_at=now,
        last_seen_at=now,
        absolute_expires_at=absolute,
    )
    return MobileSessionToken(token, device.device_id, policy.idle_timeout_seconds, absolute)


def authenticate_mobile_session(token: str, slide: bool = True) -> MobileSessionInfo:
    """The member behind a bearer token. Idle expiry is sliding: each authenticated request
    moves it, unless `slide` is False (the session check must not keep a session alive)."""
    if not token or len(token) > 200:
        raise MobileNotAuthenticated()
    session = (
        MobileSession.objects.select_related("member__credit_union", "device")
        .filter(token_hash=_token_hash(token))
        .first()
    )
    if session is None:
        raise MobileNotAuthenticated()
    member = session.member
    if session.revoked_at is not None:
        if session.revoke_reason == "channel_blocked":
            raise _blocked(member.credit_union)
        if session.revoke_reason == "timeout":
            raise SessionExpired()
        raise MobileNotAuthenticated()
    idle = timedelta(seconds=member.credit_union.idle_timeout_seconds)
    now = _now()
    if now - session.last_seen_at > idle or now >= session.absolute_expires_at:
        MobileSession.objects.filter(pk=session.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoke_reason="timeout"
        )
        raise SessionExpired()
    if slide:
        MobileSession.objects.filter(pk=session.pk).update(last_seen_at=now)
        session.last_seen_at = now
    return MobileSessionInfo(
        session_id=session.pk,
        member=member,
        device=session.device,
        idle_expires_at=min(session.last_seen_at + idle, session.absolute_expires_at),
        absolute_expires_at=session.absolute_expires_at,
    )


def logout_mobile_session(session: MobileSessionInfo, ctx: RequestContext) -> None:
    with transaction.atomic():
        MobileSession.objects.filter(pk=session.session_id, revoked_at__isnull=True).update(
            revoked_at=_now(), revoke_reason="logout"
        )
        _audit("mobile_logout", session.member, ctx, device=session.device.device_id)


# ---------------------------------------------------------------------------------------------
# For the app's screens


def issue_device_challenge(ctx: RequestContext, device_id: str = "") -> IssuedChallenge:
    """A challenge for the next signed device request. An activated device names itself and is
    limited per device, so members behind one carrier address do not limit each other; an
    anonymous request (activation) is limited per address (R-X10)."""
    per_addr, window = settings.RATE_LIMIT_PER_ADDRESS
    per_device, window_d = settings.RATE_LIMIT_PER_LOGIN
    device = (
        MobileDevice.objects.filter(
            device_id=str(device_id)[:43], state=MobileDevice.State.ACTIVE
        ).exists()
        if device_id
        else False
    )
    if device:
        consume_rate_limit("mobile-challenge-device", str(device_id), per_device * 2, window_d)
    else:
        consume_rate_limit("mobile-challenge", ctx.ip_address or "-", per_addr * 2, window)
    return issue_challenge(CHALLENGE_DEVICE)


@dataclass(frozen=True)
class MemberSummary:
    first_name: str
    last_name: str
    credit_union: str
    channel_state: str
    device_id: str
    idle_expires_at: datetime


def mobile_member_summary(session: MobileSessionInfo) -> MemberSummary:
    member = session.member
    return MemberSummary(
        first_name=member.first_name,
        last_name=member.last_name,
        credit_union=member.credit_union.name,
        channel_state=MobileChannel.objects.get(member=member).state,
        device_id=session.device.device_id,
        idle_expires_at=session.idle_expires_at,
    )


@dataclass(frozen=True)
class HelpContent:
    credit_union: str
    helpline: list[str]
    faq: list[tuple[str, str]]


def mobile_help(device_id: str = "") -> HelpContent:
    """Helpline numbers of the device's credit union (or the installation's first one) and
    answers to common questions, in the active language (R-M10)."""
    device = (
        MobileDevice.objects.select_related("member__credit_union")
        .filter(device_id=str(device_id)[:43])
        .first()
        if device_id
        else None
    )
    cu = device.member.credit_union if device else CreditUnion.objects.order_by("pk").first()
    faq = [
        (
            _("What do I need to start using the app?"),
            _(
                "The internet service of your credit union and a phone with Android 5.1 or iOS "
                "10.0 or newer. First turn the mobile app channel on in the internet service "
                "(Settings → Access channels), choosing a mobile-app password. Then open the "
                "app, enter your Login and that password, and confirm with the SMS code."
            ),
        ),
        (
            _("I forgot my PIN. What now?"),
            _(
                "Choose Reset application on the PIN screen. Then activate the app again with "
                "your Login and mobile-app password and choose a new PIN."
            ),
        ),
        (
            _("I forgot my mobile-app password."),
            _(
                "In the internet service, turn the mobile app channel off and on again "
                "(Settings → Access channels). You will define a new mobile-app password, "
                "confirmed with an SMS code, and then activate the app again."
            ),
        ),
        (
            _("The app says it is blocked."),
            _(
                "After three failed PIN or fingerprint attempts the app is blocked for your "
                "safety. Log in to the internet service, open Settings → Activate mobile app, "
                "set a new mobile-app password, and activate the app again. The helpline "
                "cannot unblock the app for you."
            ),
        ),
        (
            _("Why was I logged out?"),
            _(
                "After five minutes without activity the app logs you out and shows the PIN "
                "screen, so nobody else can use it if you leave the phone."
            ),
        ),
        (
            _("My phone was lost or stolen."),
            _(
                "Remove the device in the internet service (Settings → Devices) or call the "
                "helpline and ask them to block the mobile app."
            ),
        ),
    ]
    return HelpContent(
        credit_union=cu.name if cu else "",
        helpline=list(cu.helpline_phones) if cu else [],
        faq=[(str(q), str(a)) for q, a in faq],
    )


# ---------------------------------------------------------------------------------------------
# Settings → Security events (R-W6)

# The audit events a member recognises as logins, failures and blocks, with their labels; other
# events (codes issued, orders) belong to other pages or only to the staff.
SECURITY_EVENT_LABELS: dict[str, Any] = {
    "web_login": gettext_lazy("Login to the internet service"),
    "web_login_failed": gettext_lazy("Failed login to the internet service"),
    "web_channel_blocked": gettext_lazy("Internet service blocked"),
    "web_channel_unblocked": gettext_lazy("Internet service unblocked by the credit union"),
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


def member_security_events(member: Member, limit: int = 50) -> list[SecurityEvent]:
    """The member's recent logins, failures and blocks, newest first (R-W6)."""
    rows = AuditEvent.objects.filter(member_id=member.pk, event__in=SECURITY_EVENT_LABELS).order_by(
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
