"""The certificate `skarbiec run` serves HTTPS with (R-X1).

On first start a small local certificate authority and a leaf certificate for localhost are
generated into the data directory. Users trust the CA (not the leaf) in their browser, so the
leaf can be renewed without asking them again.
"""

import base64
import hashlib
import ipaddress
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from skarbiec.core import clock

LOCAL_DNS_NAMES = ("localhost",)
LOCAL_IP_ADDRESSES = ("127.0.0.1", "::1")
CA_VALIDITY = timedelta(days=3650)
LEAF_VALIDITY = timedelta(days=365)
# TLS 1.2 suites offered (R-X9): forward-secret ECDHE with AEAD ciphers only (AES-GCM,
# ChaCha20-Poly1305), no CBC. TLS 1.3 suites are all AEAD and are not affected by this string.
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
# Renew a little before the end so a long-running server never serves an expired certificate
# right after a restart.
RENEW_BEFORE = timedelta(days=7)


@dataclass(frozen=True)
class LocalCertificate:
    """Paths of the generated files and the fingerprint a browser can be told to trust."""

    ca_path: Path
    cert_path: Path
    key_path: Path
    spki_sha256: str


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Skarbiec local installation"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write_private_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    tmp.replace(path)


def _write_certificate(path: Path, cert: x509.Certificate) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tmp.replace(path)


def generate_local_ca(now: datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A CA that signs no other CA (path length 0) and no certificate that clients would accept
    for a name other than the local ones its leaf is issued for (name constraints)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("Skarbiec local CA")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        # Users trust this CA in their browser: had its key leaked, it must not be able to vouch
        # for a bank's real host name. Critical, as RFC 5280 asks of name constraints.
        .add_extension(
            x509.NameConstraints(
                permitted_subtrees=[
                    *(x509.DNSName(n) for n in LOCAL_DNS_NAMES),
                    *(x509.IPAddress(ipaddress.ip_network(a)) for a in LOCAL_IP_ADDRESSES),
                ],
                excluded_subtrees=None,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def issue_leaf_certificate(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    now: datetime,
    dns_names: tuple[str, ...] = LOCAL_DNS_NAMES,
    ip_addresses: tuple[str, ...] = LOCAL_IP_ADDRESSES,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A TLS server certificate for the given names, signed by the local CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    san: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    san += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(dns_names[0] if dns_names else ip_addresses[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + LEAF_VALIDITY)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def spki_sha256(cert: x509.Certificate) -> str:
    """Base64 SHA-256 of the SubjectPublicKeyInfo, as Chromium's
    --ignore-certificate-errors-spki-list and HPKP-style pins expect."""
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def load_certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _usable(path: Path, now: datetime) -> bool:
    try:
        cert = load_certificate(path)
    except (OSError, ValueError):
        return False
    return cert.not_valid_before_utc <= now and now < cert.not_valid_after_utc - RENEW_BEFORE


def _signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def ensure_local_certificate(data_dir: Path) -> LocalCertificate:
    """Generate the CA and the localhost certificate when missing or expiring; else reuse them."""
    now = clock.now()
    tls_dir = data_dir / "tls"
    # Keys, and certificates the server trusts: no one else may read or replace them (R-X9).
    tls_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    tls_dir.chmod(0o700)
    ca_path, ca_key_path = tls_dir / "ca.pem", tls_dir / "ca-key.pem"
    cert_path, key_path = tls_dir / "localhost.pem", tls_dir / "localhost-key.pem"

    if _usable(ca_path, now) and ca_key_path.exists():
        ca_cert = load_certificate(ca_path)
        loaded = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{ca_key_path} is not an EC private key")
        ca_key = loaded
        ca_renewed = False
    else:
        ca_cert, ca_key = generate_local_ca(now)
        _write_private_key(ca_key_path, ca_key)
        _write_certificate(ca_path, ca_cert)
        ca_renewed = True

    if (
        ca_renewed
        or not _usable(cert_path, now)
        or not key_path.exists()
        or not _signed_by(load_certificate(cert_path), ca_cert)
    ):
        leaf, leaf_key = issue_leaf_certificate(ca_cert, ca_key, now)
        _write_private_key(key_path, leaf_key)
        _write_certificate(cert_path, leaf)
    else:
        leaf = load_certificate(cert_path)
    return LocalCertificate(ca_path, cert_path, key_path, spki_sha256(leaf))
