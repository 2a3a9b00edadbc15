"""Secrets the server must read back, kept sealed at rest (R-X9): encrypted and authenticated
(Fernet: AES-CBC and HMAC-SHA256) under a key derived from the secret key, which is never in
the database. A copy of the database alone reads none of them; a database restored without
its secret key cannot unseal them either (docs/deploy.md says what then)."""

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken

from skarbiec.core.keys import derive_key


class Unsealable(Exception):
    """Sealed under another secret key (changed since), or not sealed by us at all."""


def _fernet(purpose: str) -> Fernet:
    return _fernet_of(derive_key(purpose))


@cache
def _fernet_of(key: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(key))


def seal(purpose: str, text: str) -> str:
    return _fernet(purpose).encrypt(text.encode()).decode()


def unseal(purpose: str, token: str) -> str:
    try:
        return _fernet(purpose).decrypt(token.encode()).decode()
    except (InvalidToken, ValueError) as e:
        raise Unsealable() from e
