"""Single-use server challenges and signed device requests (R-M2, R-M3): the device key signs
every request of the app together with a fresh challenge.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from skarbiec.channels import protocol
from skarbiec.channels.errors import (
    ChallengeInvalid,
    SignatureInvalid,
    UnknownDevice,
)
from skarbiec.channels.models import (
    DeviceChallenge,
    MobileActivation,
    MobileDevice,
)
from skarbiec.core import clock
from skarbiec.core.context import RequestContext
from skarbiec.core.keys import keyed_hash
from skarbiec.core.prepared import Update, insert_new, prepared_select, prepared_update
from skarbiec.core.throttling import address_subject, consume_rate_limit

CHALLENGE_TTL_SECONDS = 60

#: The limit of requests a device proved with its key (PIN, fingerprint, reports).
PROVEN_DEVICE_SCOPE = "mobile-device"


# Generic challenges sign activation, PIN setting, PIN login and failed-fingerprint reports;
# WebAuthn challenges are bound to one device and one ceremony.
CHALLENGE_DEVICE = "device"


CHALLENGE_WEBAUTHN_REGISTER = "webauthn_register"


CHALLENGE_WEBAUTHN_LOGIN = "webauthn_login"


@dataclass(frozen=True)
class IssuedChallenge:
    challenge: str  # base64url, signed verbatim in the canonical message
    expires_at: datetime


def _challenge_hash(challenge: str) -> str:
    return keyed_hash("device-challenge", challenge)


def issue_challenge(purpose: str = CHALLENGE_DEVICE, device_id: str = "") -> IssuedChallenge:
    """A fresh single-use challenge valid 60 s, stored (hashed) in the database."""
    raw = secrets.token_bytes(32)
    challenge = protocol.b64url_encode(raw)
    now = clock.now()
    expires = now + timedelta(seconds=CHALLENGE_TTL_SECONDS)
    insert_new(
        DeviceChallenge(
            challenge_hash=_challenge_hash(challenge),
            purpose=purpose,
            device_id=device_id,
            created_at=now,
            expires_at=expires,
        )
    )
    return IssuedChallenge(challenge=challenge, expires_at=expires)


def purge_stale_device_data(older_than_seconds: int = 3600) -> int:
    """Delete expired challenges and activations (for the worker); returns rows deleted."""
    cutoff = clock.now() - timedelta(seconds=older_than_seconds)
    challenges, _c = DeviceChallenge.objects.filter(expires_at__lt=cutoff).delete()
    activations, _a = MobileActivation.objects.filter(expires_at__lt=cutoff).delete()
    return challenges + activations


@prepared_update
def _use_challenge(challenge_hash: str, purpose: str, device_id: str, now: datetime) -> Update:
    unused = DeviceChallenge.objects.filter(
        challenge_hash=challenge_hash,
        purpose=purpose,
        device_id=device_id,
        used_at__isnull=True,
        expires_at__gt=now,
    )
    return unused, {"used_at": now}


def consume_challenge(challenge: str, purpose: str, device_id: str = "") -> None:
    """Use the challenge exactly once: one conditional UPDATE, so two parallel requests with
    the same challenge cannot both pass."""
    if not isinstance(challenge, str) or not 20 <= len(challenge) <= 100:
        raise ChallengeInvalid()
    used = _use_challenge.run(
        challenge_hash=_challenge_hash(challenge),
        purpose=purpose,
        device_id=device_id,
        now=clock.now(),
    )
    if used != 1:
        raise ChallengeInvalid()


def signed_by(
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


@prepared_select
def _active_device(device_id: str) -> QuerySet[MobileDevice]:
    # Prepared (core/prepared.py): every signed request of the app starts here.
    return MobileDevice.objects.select_related(
        "member__credit_union", "member__mobile_channel"
    ).filter(device_id=device_id, state=MobileDevice.State.ACTIVE)


def active_device(device_id: str) -> MobileDevice:
    device = _active_device.first(device_id=str(device_id or "")[:43])
    if device is None:
        raise UnknownDevice()
    return device


def verify_device_request(
    device: MobileDevice,
    action: str,
    challenge: str,
    signature: str,
    payload: dict[str, Any],
    purpose: str = CHALLENGE_DEVICE,
) -> None:
    """The challenge is consumed first: a replay is refused even with a valid signature, and a
    wrong signature burns the challenge. Once the signature proved the device, the request
    counts against the device's own limit (R-X10); before that, only the sender's address
    counts it (`state.device_rate_limits`): a device's id is no secret (it travels in URLs),
    and a stranger's junk naming it must not spend the member's limit."""
    consume_challenge(challenge, purpose, device.device_id if purpose != CHALLENGE_DEVICE else "")
    signed_by(device.public_key, action, challenge, device.device_id, payload, signature)
    per_device, window = settings.RATE_LIMIT_PER_LOGIN
    consume_rate_limit(PROVEN_DEVICE_SCOPE, device.device_id, per_device, window)


def named_device_subject(device_id: str, ctx: RequestContext) -> str:
    """What a request that names a bound device without proving it (a challenge, fingerprint
    options: nothing to sign yet) counts under: that device *from this address*. Members
    behind one carrier address do not limit each other, and a stranger elsewhere who learnt
    the device's id cannot spend the member's limit (R-X10)."""
    return f"{device_id}@{address_subject(ctx.ip_address)}"


@prepared_select
def _active_device_id(device_id: str) -> QuerySet[MobileDevice]:
    return MobileDevice.objects.filter(device_id=device_id, state=MobileDevice.State.ACTIVE).only(
        "pk"
    )


def is_bound_device(device_id: str) -> bool:
    """Whether `device_id` names a device bound to a member now (one indexed read)."""
    return bool(device_id) and _active_device_id.first(device_id=str(device_id)[:43]) is not None


def issue_device_challenge(ctx: RequestContext, device_id: str = "") -> IssuedChallenge:
    """A challenge for the next signed device request. An activated device names itself and is
    limited per device and address (`named_device_subject`); an anonymous request
    (activation) is limited per address (R-X10)."""
    per_addr, window = settings.RATE_LIMIT_PER_ADDRESS
    per_device, window_d = settings.RATE_LIMIT_PER_LOGIN
    if is_bound_device(device_id):
        subject = named_device_subject(str(device_id), ctx)
        consume_rate_limit("mobile-challenge-device", subject, per_device * 2, window_d)
    else:
        address = address_subject(ctx.ip_address)
        consume_rate_limit("mobile-challenge", address, per_addr * 2, window)
    return issue_challenge(CHALLENGE_DEVICE)
