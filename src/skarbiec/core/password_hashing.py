"""Argon2id hashing of passwords (members' web and mobile-app passwords), one configuration.

Hashing lives here; *comparing* a presented password with a stored hash is done only by
`skarbiec.core.attempts`, after the attempt was counted (R-X6).
"""

from functools import cache

import argon2
from argon2.exceptions import InvalidHashError
from django.conf import settings


@cache
def argon2_hasher() -> argon2.PasswordHasher:
    return argon2.PasswordHasher(
        time_cost=settings.ARGON2_TIME_COST,
        memory_cost=settings.ARGON2_MEMORY_COST_KIB,
        parallelism=settings.ARGON2_PARALLELISM,
        type=argon2.Type.ID,
    )


def hash_password(password: str) -> str:
    return argon2_hasher().hash(password)


@cache
def decoy_hash() -> str:
    """A hash no password opens: where no real hash exists (unknown Login, channel without a
    password) the same Argon2 work is spent on it, so timing tells nothing (R-T3)."""
    return argon2_hasher().hash("not-a-real-password-for-timing")


def password_needs_rehash(stored_hash: str) -> bool:
    try:
        return argon2_hasher().check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True
