"""Row locks for a value read then written (R-X4): one way, used by every flow.

`for_update(rows)` is `SELECT … FOR NO KEY UPDATE OF <the model's own table>` on PostgreSQL:

- NO KEY: a locked row's columns change, never its key. A plain FOR UPDATE also conflicts with
  the FOR KEY SHARE lock PostgreSQL takes on a referenced row when a row referencing it
  commits (a new order references its member and account, a ledger entry its account), so an
  instant transfer and an SMS-confirmed one of the same member waited on each other crosswise:
  a deadlock, that is a 503 after a second of waiting.
- OF the model's own table: rows joined by `select_related` (the member, the credit union) are
  read, not locked; otherwise each authorisation locked its credit union's row and every
  booking in that credit union queued behind it.

SQLite has no row locks: IMMEDIATE transactions queue writers (settings.py). A test keeps
`select_for_update` out of every other module.
"""

from typing import TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)


def for_update(
    rows: "models.QuerySet[M] | models.Manager[M]", *, skip_locked: bool = False
) -> "models.QuerySet[M]":
    """`rows` locked when read, until the end of the transaction."""
    return rows.select_for_update(no_key=True, of=("self",), skip_locked=skip_locked)
