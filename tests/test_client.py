"""The device protocol as the client computes it (R-M2, R-M3): what a native app must match."""

import base64
import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from skarbiec.channels import protocol
from skarbiec.client import DeviceClient


def test_canonical_message_format():
    message = protocol.canonical_message("login_pin", "abc", "dev1", {"pin_proof": "ff", "a": 1})
    digest = hashlib.sha256(b'{"a":1,"pin_proof":"ff"}').hexdigest()
    assert message == f"skarbiec-mobile/1\nlogin_pin\nabc\ndev1\n{digest}".encode()


def test_r_m3_pin_proof_is_hmac_sha256_of_the_pin_with_the_device_secret():
    secret = b"\x07" * 32
    assert protocol.pin_proof(secret, "48159") == hmac.new(secret, b"48159", "sha256").hexdigest()


def test_client_keys_are_p256_and_secret_is_random():
    a, b = DeviceClient("https://x"), DeviceClient("https://x")
    assert a.private_key.curve.name == "secp256r1"
    assert a.device_secret != b.device_secret and len(a.device_secret) == 32
    a.reset()
    assert a.device_id == "" and a.token == ""


def test_signatures_verify_as_der_and_as_webcrypto_raw():
    device = DeviceClient("https://x")
    device.device_id = "d"
    key = protocol.load_public_key(device.public_key_b64)
    message = protocol.canonical_message("set_pin", "c", "d", {})
    der = device.sign("set_pin", "c", {})
    assert protocol.verify_signature(key, der, message)
    r, s = decode_dss_signature(protocol.b64_decode(der))
    raw = base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()
    assert protocol.verify_signature(key, raw, message)  # WebCrypto's r||s, standard base64
    assert not protocol.verify_signature(key, raw, message + b"x")
    assert not protocol.verify_signature(key, "not base64!", message)


def test_public_key_as_jwk_equals_spki():
    device = DeviceClient("https://x")
    numbers = device.private_key.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": protocol.b64url_encode(numbers.x.to_bytes(32, "big")),
        "y": protocol.b64url_encode(numbers.y.to_bytes(32, "big")),
    }
    assert protocol.public_key_der(protocol.load_public_key(jwk)) == protocol.b64_decode(
        device.public_key_b64
    )
    # The same JWK carrying its private part: refused, the app must make a new key.
    private = device.private_key.private_numbers().private_value
    with pytest.raises(protocol.ProtocolError):
        protocol.load_public_key({**jwk, "d": protocol.b64url_encode(private.to_bytes(32, "big"))})


@pytest.mark.parametrize(
    "bad", ["", "AAAA", {"kty": "RSA"}, {"kty": "EC", "crv": "P-384", "x": "", "y": ""}]
)
def test_bad_public_keys_are_refused(bad):
    with pytest.raises(protocol.ProtocolError):
        protocol.load_public_key(bad)


def test_payload_digest_is_order_independent_and_unicode_safe():
    assert (
        protocol.payload_digest({"b": "ż", "a": 1})
        == hashlib.sha256(
            json.dumps({"a": 1, "b": "ż"}, separators=(",", ":"), ensure_ascii=False).encode()
        ).hexdigest()
    )
