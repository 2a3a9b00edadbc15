"""R-X4: one way to lock a row that is read then written (skarbiec.core.locks)."""

import re
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

import skarbiec
from skarbiec.core.locks import for_update
from skarbiec.ledger.models import Order

PACKAGE = Path(skarbiec.__file__).parent


def test_r_x4_rows_are_locked_only_through_for_update():
    """A bare select_for_update() locks the row's key too (deadlocks with the foreign-key
    checks of rows that reference it) and every row joined by select_related."""
    found = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in PACKAGE.rglob("*.py")
        # prepared.py only reads the flag of a queryset built through for_update.
        if path.name not in ("locks.py", "prepared.py") and "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"select_for_update\(|\bFOR UPDATE\b", line)
        and not line.lstrip().startswith("#")
    ]
    assert found == []


@pytest.mark.django_db
def test_r_x4_a_lock_takes_no_key_and_only_the_rows_own_table():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no row locks: IMMEDIATE transactions queue writers")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        list(for_update(Order.objects.select_related("member__credit_union")))
    assert queries.captured_queries[-1]["sql"].endswith('FOR NO KEY UPDATE OF "ledger_order"')
