"""A change that commits while a password's acceptance waits for the change's row lock
(PostgreSQL only: SQLite runs one writer at a time, so nothing ever waits on a row)."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.db import connection, transaction

from skarbiec.core import attempts


@contextmanager
def committed_while_the_acceptance_waits(
    monkeypatch: pytest.MonkeyPatch, change: Callable[[], None]
) -> Iterator[None]:
    """Right after the first password comparison in the block, `change` runs in a transaction
    of a second connection that keeps its locks for half a second: the acceptance, waiting for
    them, then sees a change committed while it waited."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: nothing waits on a row lock")
    original = attempts.PasswordGuess._matches
    holding = threading.Event()
    changes: list[threading.Thread] = []

    def change_and_hold_its_locks() -> None:
        try:
            with transaction.atomic():
                change()
                holding.set()
                time.sleep(0.5)
        finally:
            connection.close()

    def matches(self: attempts.PasswordGuess, row: object) -> bool:
        monkeypatch.setattr(attempts.PasswordGuess, "_matches", original)
        matched = original(self, row)
        changes.append(threading.Thread(target=change_and_hold_its_locks))
        changes[0].start()
        assert holding.wait(10)
        return matched

    monkeypatch.setattr(attempts.PasswordGuess, "_matches", matches)
    try:
        yield
    finally:
        for thread in changes:
            thread.join(10)
