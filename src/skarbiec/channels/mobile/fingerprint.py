"""Fingerprint login: WebAuthn with user verification required, from a platform
authenticator, plus the device key's signature (R-M4).
"""

import json
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_registration_response,
)
from webauthn.helpers import (
    parse_authentication_credential_json,
    parse_authenticator_data,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorAttachment,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from skarbiec.channels import protocol
from skarbiec.channels.devicepolicy import DeviceInfo
from skarbiec.channels.errors import (
    FingerprintFailed,
    FingerprintNotRegistered,
    FingerprintRegistrationRefused,
    PinConfirmationNeeded,
)
from skarbiec.channels.mobile.challenges import (
    CHALLENGE_TTL_SECONDS,
    CHALLENGE_WEBAUTHN_LOGIN,
    CHALLENGE_WEBAUTHN_REGISTER,
    active_device,
    consume_challenge,
    issue_challenge,
    named_device_subject,
    verify_device_request,
)
from skarbiec.channels.mobile.pin import check_device_at_login, login_with
from skarbiec.channels.mobile.sessions import MobileSessionInfo, MobileSessionToken
from skarbiec.channels.mobile.state import (
    device_rate_limits,
    record_member_event,
    require_usable_channel,
)
from skarbiec.channels.models import (
    FingerprintCredential,
)
from skarbiec.core import clock
from skarbiec.core.attempts import (
    FingerprintGuess,
)
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import InvalidInput

log = logging.getLogger(__name__)


#: What the WebAuthn library raises for a credential it cannot read; JSON or CBOR nested
#: thousands deep ends in a RecursionError, which is bad input too, never a 500 (R-X8).
UNREADABLE = (WebAuthnException, ValueError, TypeError, KeyError, RecursionError)


def webauthn_rp() -> tuple[str, str]:
    """(rp_id, origin) from the public URL (R-X1)."""
    parts = urlsplit(settings.PUBLIC_URL)
    return parts.hostname or "localhost", f"{parts.scheme}://{parts.netloc}"


#: How long after the PIN opened the session a fingerprint may be enrolled in it.
ENROLMENT_AFTER_PIN_SECONDS = 120


def require_pin_just_entered(session: MobileSessionInfo) -> None:
    """Enrolling a fingerprint is a step up: only in a session the PIN opened (set or entered)
    in the last two minutes. A bearer token alone (a phone left logged in, a session a
    fingerprint opened) must not add a finger that logs in without the PIN from then on."""
    fresh = clock.now() - session.opened_at <= timedelta(seconds=ENROLMENT_AFTER_PIN_SECONDS)
    if not (session.opened_with_pin and fresh):
        raise PinConfirmationNeeded()


def fingerprint_registration_options(session: MobileSessionInfo) -> dict[str, Any]:
    """WebAuthn creation options for a platform authenticator, user verification required."""
    member, device = session.member, session.device
    require_usable_channel(member)
    require_pin_just_entered(session)
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
    require_usable_channel(member)
    require_pin_just_entered(session)
    consume_challenge(challenge, CHALLENGE_WEBAUTHN_REGISTER, device.device_id)
    rp_id, origin = webauthn_rp()
    try:
        parsed = parse_registration_credential_json(
            credential if isinstance(credential, dict) else "null"
        )
    except UNREADABLE as e:
        # The library's reason is English and technical: logged, never shown (R-X5).
        log.info("unreadable fingerprint credential: %s", str(e)[:200])
        raise InvalidInput(_("The fingerprint credential cannot be read."))
    try:
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=protocol.b64_decode(challenge),
            expected_rp_id=rp_id,
            expected_origin=origin,
            require_user_verification=True,
        )
    except RecursionError as e:
        log.info("unreadable fingerprint credential: %s", str(e)[:200])
        raise InvalidInput(_("The fingerprint credential cannot be read."))
    except (WebAuthnException, ValueError, TypeError, KeyError) as e:
        log.info("fingerprint registration refused: %s", str(e)[:200])
        raise FingerprintRegistrationRefused()
    credential_id = protocol.b64url_encode(verified.credential_id)
    # WebAuthn allows ids of up to 1023 bytes; platform authenticators use far shorter ones.
    if len(credential_id) > int(
        FingerprintCredential._meta.get_field("credential_id").max_length or 0
    ):
        raise InvalidInput(_("The fingerprint credential cannot be read."))
    with transaction.atomic():
        if FingerprintCredential.objects.filter(credential_id=credential_id).exists():
            raise InvalidInput(_("This fingerprint credential is already registered."))
        FingerprintCredential.objects.create(
            device=device,
            credential_id=credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            created_at=clock.now(),
        )
        record_member_event("mobile_fingerprint_registered", member, ctx, device=device.device_id)


def fingerprint_login_options(device_id: str, ctx: RequestContext) -> dict[str, Any]:
    with device_rate_limits("device-options", named_device_subject(str(device_id), ctx), ctx):
        device = active_device(device_id)
    require_usable_channel(device.member)
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


def _well_formed_assertion(credential: object) -> None:
    """An assertion that cannot even be read (not an object, a part missing, not base64url,
    client data that is no JSON) is a malformed request, refused before anything is counted
    like a malformed PIN proof: it is no finger the sensor refused, and it can never match."""
    try:
        parsed = parse_authentication_credential_json(
            credential if isinstance(credential, dict) else "null"
        )
        parse_client_data_json(parsed.response.client_data_json)
        parse_authenticator_data(parsed.response.authenticator_data)
        if not parsed.response.signature:
            raise ValueError("no signature")  # a part missing, as an empty PIN proof
    except UNREADABLE as e:
        log.info("unreadable fingerprint assertion: %s", str(e)[:200])
        raise InvalidInput(_("The fingerprint assertion cannot be read."))


def _unpadded_ids(credential: object) -> dict[str, Any]:
    """The assertion (already known to be readable) with `id` and `rawId` unpadded."""
    assert isinstance(credential, dict)
    return {
        **credential,
        "id": str(credential.get("id") or "").rstrip("="),
        "rawId": str(credential.get("rawId") or "").rstrip("="),
    }


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
    with device_rate_limits("device", str(device_id), ctx, signed=True):
        device = active_device(device_id)
        _well_formed_assertion(credential)
        credential_id = str((credential or {}).get("id") or "")
        verify_device_request(
            device,
            protocol.LOGIN_FINGERPRINT,
            challenge,
            signature,
            {"credential_id": credential_id},
            purpose=CHALLENGE_WEBAUTHN_LOGIN,
        )
        member = device.member
        require_usable_channel(member)
        check_device_at_login(member, device, device_info)
        # WebAuthn's base64url has no padding; a client library may add it. The device's
        # signature covers the id as sent; the credential is looked up and checked without it.
        credential = _unpadded_ids(credential)
        stored = FingerprintCredential.objects.filter(
            device=device, credential_id=credential["id"]
        ).first()
        rp_id, origin = webauthn_rp()
        guess = FingerprintGuess(
            credential,
            challenge=protocol.b64_decode(challenge),
            rp_id=rp_id,
            origin=origin,
            public_key=bytes(stored.public_key) if stored is not None else None,
            sign_count=stored.sign_count if stored is not None else 0,
        )

        def count_signature() -> None:
            assert stored is not None  # the guess matched a stored credential
            # Under the channel's lock, as every login's acceptance: only if no other login
            # moved the counter since it was read for this comparison. Two assertions of one
            # count (a cloned authenticator) sent at once were both accepted, and the counter
            # could go back (R-M4). Refused, not counted: the attempt proved the key.
            moved_on = FingerprintCredential.objects.filter(
                pk=stored.pk, sign_count=stored.sign_count
            ).update(sign_count=guess.new_sign_count, last_used_at=clock.now())
            if not moved_on:
                raise FingerprintFailed()

        return login_with(
            member, device, "fingerprint", FingerprintFailed, guess, ctx, count_signature
        )
