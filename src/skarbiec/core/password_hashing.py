"""Argon2id hashing of passwords (members' web and mobile-app passwords), one configuration.

Hashing lives here; *comparing* a presented password with a stored hash is done only by
`skarbiec.core.attempts`, after the attempt was counted (R-X6).
"""

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import TypeVar

import argon2
from argon2.exceptions import InvalidHashError
from django.conf import settings

T = TypeVar("T")

_argon2_thread: tuple[int, ThreadPoolExecutor] | None = None


def _on_argon2_thread(run: Callable[..., T], *args: str) -> T:
    """Run on the process's one Argon2 thread (made after a fork, not inherited).

    Each Argon2id run fills a block of ARGON2_MEMORY_COST_KIB (19 MiB). Run from any request
    thread, every thread's malloc arena keeps a block of its own, and the worker grows by
    19 MiB per thread (SPEC §11 P4). Run always on the same thread, the block is taken from
    and given back to one arena and reused: no new pages to fault in and zero (12 ms of system
    CPU per run when each block was mapped afresh) and one block of memory per process. Runs
    of one process queue for that thread; a process has one core's worth of Python anyway."""
    global _argon2_thread
    if _argon2_thread is None or _argon2_thread[0] != os.getpid():
        _argon2_thread = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="argon2"))
    return _argon2_thread[1].submit(run, *args).result()


class OneThreadHasher:
    """argon2.PasswordHasher with every hash and verify run on the process's Argon2 thread."""

    def __init__(self, hasher: argon2.PasswordHasher) -> None:
        self._hasher = hasher

    def hash(self, password: str) -> str:
        return _on_argon2_thread(self._hasher.hash, password)

    def verify(self, stored_hash: str, password: str) -> bool:
        return _on_argon2_thread(self._hasher.verify, stored_hash, password)

    def check_needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)


@cache
def argon2_hasher() -> OneThreadHasher:
    return OneThreadHasher(
        argon2.PasswordHasher(
            time_cost=settings.ARGON2_TIME_COST,
            memory_cost=settings.ARGON2_MEMORY_COST_KIB,
            parallelism=settings.ARGON2_PARALLELISM,
            type=argon2.Type.ID,
        )
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
