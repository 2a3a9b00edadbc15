"""Reads that must see the database at one moment (R-B5, R-L2, R-D3): `ledger check` compares
balances with the sums of entries, `audit verify` a chain's head with its events. Read in two
statements while money is booked or events are sealed, they would report a problem that is
not there."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def one_moment() -> Iterator[None]:
    """A read-only REPEATABLE READ transaction on PostgreSQL: every statement sees the same
    snapshot. On SQLite a transaction (IMMEDIATE) holds off writers while it lasts. Inside a
    caller's transaction (tests) it reads in that one."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield
