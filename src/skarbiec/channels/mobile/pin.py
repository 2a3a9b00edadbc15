"""The PIN (R-M2, R-M3, R-M5): set once after activation, then checked by the server as a
proof signed by the device key. PIN and fingerprint failures share one counter.
"""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from skarbiec.channels import protocol
from skarbiec.channels.devicepolicy import DeviceInfo, check_device_policy
from skarbiec.channels.errors import (
    DeviceRemovedMeanwhile,
    FingerprintFailed,
    FingerprintNotRegistered,
    MobileChannelBlocked,
    MobileChannelDisabled,
    PinAlreadySet,
    PinOfAnotherKey,
    PinRejected,
    PinRequired,
    UnknownDevice,
    WrongPin,
)
from skarbiec.channels.lifecycle import block_mobile_channel
from skarbiec.channels.mobile.challenges import active_device, verify_device_request
from skarbiec.channels.mobile.sessions import MobileSessionToken, open_session
from skarbiec.channels.mobile.state import (
    device_rate_limits,
    lock_mobile_channel,
    record_member_event,
    require_usable_channel,
)
from skarbiec.channels.models import (
    MobileChannel,
    MobileDevice,
)
from skarbiec.core import clock
from skarbiec.core.attempt_counts import reset_count
from skarbiec.core.attempts import Counter, DigestGuess, Guess, ReportedFailure, check_secret
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError, InvalidInput
from skarbiec.core.keys import keyed_hash, secret_key_id
from skarbiec.core.locks import for_update
from skarbiec.core.prepared import Update, prepared_select, prepared_update
from skarbiec.members.models import Member

_COMMON_PINS = frozenset(
    {
        "12345", "54321", "00000", "11111", "12321", "13579", "24680", "11223", "10101",
        "1234", "4321", "0000", "1111", "1212", "6969", "2580", "1004", "2000", "7777",
        "123456", "654321", "000000", "111111", "121212", "112233", "123123", "696969",
        "159753", "147258", "258369", "123321", "102030", "2468", "1357", "1122",
    }
)  # fmt: skip


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
    """The proof as sent, which its signature covers; compared in lower case (its hash)."""
    proof = str(proof or "")
    if len(proof) != 64 or any(c not in "0123456789abcdefABCDEF" for c in proof):
        raise InvalidInput(_("The PIN proof must be 64 hexadecimal characters."))
    return proof


def set_pin(
    device_id: str, pin: str, proof: str, challenge: str, signature: str, ctx: RequestContext
) -> MobileSessionToken:
    """R-M2: right after activation the member sets the PIN. The PIN itself travels once
    (TLS) so the server can refuse trivial PINs; it is never stored. What is stored is a keyed
    hash of the proof HMAC(device_secret, PIN), useless without the device secret. Returns a
    session: the member has just proved password, SMS code and device key."""
    with device_rate_limits("device", str(device_id), ctx, signed=True):
        device = active_device(device_id)
        proof = _valid_proof(proof)
        verify_device_request(device, protocol.SET_PIN, challenge, signature, {"pin_proof": proof})
    member = device.member
    require_usable_channel(member)
    problems = pin_problems(pin, member.credit_union.pin_length)
    if problems:
        raise PinRejected(problems[0], problems=problems)
    with transaction.atomic():
        channel = lock_mobile_channel(member)
        locked = for_update(MobileDevice.objects).get(pk=device.pk)
        if locked.state != MobileDevice.State.ACTIVE:
            raise UnknownDevice()
        if locked.pin_proof_hash:
            raise PinAlreadySet()
        if channel.state != MobileChannel.State.ACTIVE:
            raise MobileChannelBlocked.of(member.credit_union)
        locked.pin_proof_hash = _pin_proof_hash(locked.device_id, proof)
        locked.pin_key_id = secret_key_id()
        locked.last_used_at = clock.now()
        locked.save(update_fields=["pin_proof_hash", "pin_key_id", "last_used_at"])
        record_member_event("mobile_pin_set", member, ctx, device=locked.device_id)
        return open_session(member, locked, with_pin=True)


@prepared_select
def _mobile_channel_locked(member_id: int) -> QuerySet[MobileChannel]:
    # Prepared (core/prepared.py): locked at each PIN and fingerprint attempt (R-X6).
    return for_update(MobileChannel.objects).filter(member_id=member_id)


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
        self.subject_id = member.pk
        self.device = device
        self.method = method
        self.wrong = wrong
        self.ctx = ctx
        self.limit = member.credit_union.max_auth_failures

    def lock(self) -> MobileChannel:
        # The channel row alone: the member and its credit union are at hand already.
        row = _mobile_channel_locked.get(member_id=self.member.pk)
        row.member = self.member
        return row

    def refusal(self, row: MobileChannel) -> DomainError | None:
        if row.state == MobileChannel.State.DISABLED:
            return MobileChannelDisabled()
        if row.state == MobileChannel.State.PENDING:
            # Its device was removed meanwhile (the channel waits for a new one): not blocked.
            return DeviceRemovedMeanwhile()
        if row.state != MobileChannel.State.ACTIVE:
            return MobileChannelBlocked.of(self.member.credit_union)
        return None

    @classmethod
    def open_rows(cls, subject_id: int) -> QuerySet[MobileChannel]:
        return MobileChannel.objects.filter(member_id=subject_id, state=MobileChannel.State.ACTIVE)

    def exhausted(self, row: MobileChannel) -> DomainError:
        return MobileChannelBlocked.of(self.member.credit_union)

    def accept(self, row: MobileChannel) -> None:
        reset_count(self, row)

    def reject(self, row: MobileChannel) -> DomainError:
        record_member_event(
            "mobile_login_failed", self.member, self.ctx, method=self.method,
            device=self.device.device_id, failed_attempts=self.failures(row),
        )  # fmt: skip
        if self.failures(row) >= self.limit:
            block_mobile_channel(self.member, f"{self.method}_failures", self.ctx)
            return MobileChannelBlocked.of(self.member.credit_union)
        return self.wrong(attempts_left=self.attempts_left(row))


@prepared_update
def _note_device_use(device_pk: int, now: datetime) -> Update:
    return MobileDevice.objects.filter(pk=device_pk, state=MobileDevice.State.ACTIVE), {
        "last_used_at": now
    }


def login_with(
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
        # One statement checks the device is still bound and notes its use.
        if not _note_device_use.run(device_pk=device.pk, now=clock.now()):
            raise DeviceRemovedMeanwhile()
        if method == "pin" and not device.pin_key_id:
            # A PIN bound before the key's id was stored just matched under this key: noted,
            # so that after a change of key it is told apart from a wrong one (R-X6).
            MobileDevice.objects.filter(pk=device.pk, pin_key_id="").update(
                pin_key_id=secret_key_id()
            )
        if before_session is not None:
            before_session()
        record_member_event("mobile_login", member, ctx, method=method, device=device.device_id)
        return open_session(member, device, with_pin=method == "pin")

    return check_secret(AuthCounter(member, device, method, wrong, ctx), guess, logged_in)


def check_device_at_login(member: Member, device: MobileDevice, info: DeviceInfo | None) -> None:
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
    with device_rate_limits("device", str(device_id), ctx, signed=True):
        device = active_device(device_id)
        proof = _valid_proof(proof)
        verify_device_request(
            device, protocol.LOGIN_PIN, challenge, signature, {"pin_proof": proof}
        )
        member = device.member
        require_usable_channel(member)
        if not device.pin_proof_hash:
            raise PinRequired()
        if device.pin_key_id and device.pin_key_id != secret_key_id():
            # The installation's key was changed: this PIN can no longer be checked, and the
            # member's right PIN must not count as wrong. Activating again binds a new one.
            raise PinOfAnotherKey()
        check_device_at_login(member, device, device_info)
        guess = DigestGuess(device.pin_proof_hash, _pin_proof_hash(device.device_id, proof))
        return login_with(member, device, "pin", WrongPin, guess, ctx)


def report_failed_fingerprint(
    device_id: str, challenge: str, signature: str, ctx: RequestContext
) -> int:
    """R-M4: the app reports a fingerprint the phone did not recognise; it counts like a wrong
    PIN. Returns the attempts left; raises channel_blocked at the limit. A device with no
    fingerprint registered has no finger to fail: refused as at the login's options, counting
    nothing (a faulty app must not block the member, R-X6)."""
    with device_rate_limits("device", str(device_id), ctx, signed=True):
        device = active_device(device_id)
        verify_device_request(device, protocol.FINGERPRINT_FAILED, challenge, signature, {})
        member = device.member
        require_usable_channel(member)
        if not device.credentials.exists():
            raise FingerprintNotRegistered()
        try:
            login_with(member, device, "fingerprint", FingerprintFailed, ReportedFailure(), ctx)
        except FingerprintFailed as e:
            return int(e.details["attempts_left"])
    raise AssertionError("a reported failure never opens a session")  # pragma: no cover
