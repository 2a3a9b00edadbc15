"""The generated local CA and localhost certificate of `skarbiec run` (R-X1)."""

import base64
import hashlib
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from skarbiec.core import clock
from skarbiec.operations.management.commands.run import tls12_or_newer
from skarbiec.operations.tls import (
    ensure_local_certificate,
    issue_leaf_certificate,
    load_certificate,
)


def test_r_x1_leaf_names_localhost_and_loopback_addresses(tmp_path: Path) -> None:
    local = ensure_local_certificate(tmp_path)
    leaf = load_certificate(local.cert_path)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey)
    assert leaf.public_key().curve.name == "secp256r1"


def test_r_x1_ca_signs_leaf_and_is_limited_to_signing(tmp_path: Path) -> None:
    local = ensure_local_certificate(tmp_path)
    ca = load_certificate(local.ca_path)
    leaf = load_certificate(local.cert_path)
    leaf.verify_directly_issued_by(ca)  # raises when the CA did not sign it
    assert leaf.issuer == ca.subject != leaf.subject

    ca_constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert ca_constraints.critical and ca_constraints.value.ca
    assert ca_constraints.value.path_length == 0
    ca_usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ca_usage.key_cert_sign and not ca_usage.digital_signature


def test_r_x1_leaf_key_usage_is_tls_server_only(tmp_path: Path) -> None:
    leaf = load_certificate(ensure_local_certificate(tmp_path).cert_path)
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature and not usage.value.key_cert_sign
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    assert 360 <= lifetime.days <= 370


def test_r_x1_private_keys_are_readable_by_owner_only(tmp_path: Path) -> None:
    local = ensure_local_certificate(tmp_path)
    assert local.key_path.stat().st_mode & 0o077 == 0
    assert (local.ca_path.parent / "ca-key.pem").stat().st_mode & 0o077 == 0


def test_r_x1_python_ssl_verifies_leaf_with_generated_ca(tmp_path: Path) -> None:
    local = ensure_local_certificate(tmp_path)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(local.cert_path, local.key_path)  # key matches the certificate
    client = ssl.create_default_context(cafile=str(local.ca_path))
    client_in, client_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    server_in, server_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    c = client.wrap_bio(client_in, client_out, server_hostname="localhost")
    s = server.wrap_bio(server_in, server_out, server_side=True)
    for _ in range(10):
        for side in (c, s):
            try:
                side.do_handshake()
            except ssl.SSLWantReadError:
                pass
        server_in.write(client_out.read())
        client_in.write(server_out.read())
    assert c.version() in ("TLSv1.2", "TLSv1.3")
    assert c.getpeercert()["subjectAltName"][0] == ("DNS", "localhost")


def test_r_x1_spki_hash_is_sha256_of_leaf_public_key(tmp_path: Path) -> None:
    local = ensure_local_certificate(tmp_path)
    der = (
        load_certificate(local.cert_path)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert local.spki_sha256 == base64.b64encode(hashlib.sha256(der).digest()).decode()


def test_r_x1_certificate_reused_while_valid_and_renewed_when_expired(tmp_path: Path) -> None:
    first = ensure_local_certificate(tmp_path)
    ca_pem = first.ca_path.read_bytes()
    again = ensure_local_certificate(tmp_path)
    assert again.spki_sha256 == first.spki_sha256

    clock.advance(366 * 24 * 3600)
    renewed = ensure_local_certificate(tmp_path)
    assert renewed.spki_sha256 != first.spki_sha256
    # The CA lives ten years: users who trusted it keep trusting the renewed leaf.
    assert renewed.ca_path.read_bytes() == ca_pem
    load_certificate(renewed.cert_path).verify_directly_issued_by(load_certificate(renewed.ca_path))
    assert load_certificate(renewed.cert_path).not_valid_before_utc <= clock.now()


def test_r_x1_broken_certificate_file_is_regenerated(tmp_path: Path) -> None:
    first = ensure_local_certificate(tmp_path)
    first.cert_path.write_text("not a certificate")
    again = ensure_local_certificate(tmp_path)
    load_certificate(again.cert_path)
    assert again.spki_sha256 != first.spki_sha256


def test_r_x1_ssl_context_hook_refuses_tls_below_1_2() -> None:
    def lax_factory() -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        return context

    assert tls12_or_newer(None, lax_factory).minimum_version == ssl.TLSVersion.TLSv1_2


def test_r_x1_leaf_reissued_when_ca_was_replaced(tmp_path: Path) -> None:
    first = ensure_local_certificate(tmp_path)
    # An operator put another (valid) CA in place: the old leaf no longer chains to it.
    other = ensure_local_certificate(tmp_path / "other")
    for name in ("ca.pem", "ca-key.pem"):
        (tmp_path / "tls" / name).write_bytes((other.ca_path.parent / name).read_bytes())
    again = ensure_local_certificate(tmp_path)
    assert again.spki_sha256 != first.spki_sha256
    load_certificate(again.cert_path).verify_directly_issued_by(load_certificate(again.ca_path))


def _verify_for(
    ca: x509.Certificate, leaf: x509.Certificate, name: x509.DNSName | x509.IPAddress
) -> None:
    """Raises VerificationError unless a TLS client trusting `ca` accepts `leaf` for `name`."""
    verifier = PolicyBuilder().store(Store([ca])).time(clock.now()).build_server_verifier(name)
    verifier.verify(leaf, [])


def test_r_x1_ca_vouches_for_the_local_names_only(tmp_path: Path) -> None:
    """Whoever gets the CA's key cannot make a certificate a browser trusting the CA accepts
    for any other host: the CA's name constraints permit the names of its leaf only."""
    local = ensure_local_certificate(tmp_path)
    ca = load_certificate(local.ca_path)
    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    leaf = load_certificate(local.cert_path)
    _verify_for(ca, leaf, x509.DNSName("localhost"))
    _verify_for(ca, leaf, x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    _verify_for(ca, leaf, x509.IPAddress(ipaddress.ip_address("::1")))

    ca_key = serialization.load_pem_private_key(
        (local.ca_path.parent / "ca-key.pem").read_bytes(), password=None
    )
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    bank = "www.bank-of-someone-else.pl"
    forged, _key = issue_leaf_certificate(ca, ca_key, clock.now(), (bank,), ())
    with pytest.raises(VerificationError):
        _verify_for(ca, forged, x509.DNSName(bank))
    elsewhere, _key = issue_leaf_certificate(ca, ca_key, clock.now(), (), ("192.0.2.7",))
    with pytest.raises(VerificationError):
        _verify_for(ca, elsewhere, x509.IPAddress(ipaddress.ip_address("192.0.2.7")))
