"""Keys for keyed hashes (one-time codes, PIN proofs, tokens), derived from the secret key.

A database copy alone therefore cannot test codes or PINs offline: the key lives in the data
directory or the environment, never in the database.
"""

import hashlib
import hmac
from functools import cache

from django.conf import settings


@cache
def derive_key(purpose: str) -> bytes:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"skarbiec:{purpose}".encode(), hashlib.sha256
    ).digest()


def secret_key_id() -> str:
    """A short name of the secret key in use, stored beside what only it can check (a PIN
    proof's hash): after the key was changed, a PIN bound under the old one is told apart
    from a wrong PIN instead of being counted as one (R-X6)."""
    return keyed_hash("secret-key-id")[:8]


def keyed_hash(purpose: str, *parts: str | bytes) -> str:
    mac = hmac.new(derive_key(purpose), digestmod=hashlib.sha256)
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        # Length-prefix each part so ("ab","c") and ("a","bc") never collide.
        mac.update(len(data).to_bytes(4, "big"))
        mac.update(data)
    return mac.hexdigest()
