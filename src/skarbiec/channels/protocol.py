"""The device protocol of the mobile app, shared by the server and `skarbiec.client`.

Pure functions without Django, so a native-app integrator can read them as the specification
(docs/mobile-api.md describes the same in prose):

- every device request is signed with the device's ECDSA P-256 key (SHA-256) over
  `canonical_message(action, challenge, device_id, payload)`;
- the PIN proof is HMAC-SHA256(device_secret, PIN), hex; the device secret never leaves the device.
"""

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

PROTOCOL = "skarbiec-mobile/1"

# Actions named in signed messages; a signature for one action is useless for another.
ACTIVATE = "activate"
SET_PIN = "set_pin"
LOGIN_PIN = "login_pin"
LOGIN_FINGERPRINT = "login_fingerprint"
FINGERPRINT_FAILED = "fingerprint_failed"


class ProtocolError(ValueError):
    """Malformed key, signature or encoding (the request is bad, not merely unauthorised)."""


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64_decode(text: str) -> bytes:
    """Decode standard or URL-safe base64, padded or not."""
    if not isinstance(text, str) or len(text) > 20000:
        raise ProtocolError("not base64")
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ProtocolError("not base64") from e


def payload_digest(payload: dict[str, Any]) -> str:
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def canonical_message(
    action: str, challenge: str, device_id: str, payload: dict[str, Any]
) -> bytes:
    """Five lines joined by "\\n": protocol, action, challenge, device id (empty at activation),
    SHA-256 hex of the payload as compact JSON with sorted keys."""
    return "\n".join([PROTOCOL, action, challenge, device_id, payload_digest(payload)]).encode()


def pin_proof(device_secret: bytes, pin: str) -> str:
    return hmac.new(device_secret, pin.encode(), hashlib.sha256).hexdigest()


def load_public_key(value: str | dict[str, Any]) -> ec.EllipticCurvePublicKey:
    """An ECDSA P-256 public key as SPKI DER in base64, or as a JWK (kty EC, crv P-256)."""
    try:
        if isinstance(value, dict):
            if value.get("kty") != "EC" or value.get("crv") != "P-256":
                raise ProtocolError("only EC P-256 keys are accepted")
            if "d" in value:
                # A private key sent to the server is compromised: the app must make a new one.
                raise ProtocolError("a private key was sent")
            x = int.from_bytes(b64_decode(str(value.get("x", ""))), "big")
            y = int.from_bytes(b64_decode(str(value.get("y", ""))), "big")
            key: Any = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
        else:
            key = serialization.load_der_public_key(b64_decode(value))
    except ProtocolError:
        raise
    except (ValueError, TypeError) as e:
        raise ProtocolError("not a public key") from e
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ProtocolError("only EC P-256 keys are accepted")
    return key


def public_key_der(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def verify_signature(key: ec.EllipticCurvePublicKey, signature: str, message: bytes) -> bool:
    """Accept DER signatures and raw r||s (64 bytes, what WebCrypto produces)."""
    try:
        raw = b64_decode(signature)
    except ProtocolError:
        return False
    if len(raw) == 64:
        raw = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        key.verify(raw, message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def sign(private_key: ec.EllipticCurvePrivateKey, message: bytes) -> str:
    return b64url_encode(private_key.sign(message, ec.ECDSA(hashes.SHA256())))
