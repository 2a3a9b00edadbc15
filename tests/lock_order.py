"""The order of row locks (docs/architecture.md, `otp/send_budget.lock_members_codes`), checked
on every statement of every test on PostgreSQL. A wrong code's settlement locks the member's
row, then rows of several tables (operations, orders, payees, limit changes, channels). A
transaction that locks a member's row after one of those, or rows of two of those tables
without the member's row first, may take them in another order than the settlement: run side
by side, the two wait for each other and PostgreSQL aborts one of them (a 503). Races in
tests/ledger/test_race_gaps.py and tests/channels/test_web_lock_survivors.py show each case;
this watch finds a new flow that takes another order even where no test races it.

Rows a transaction inserted itself are no one else's to wait for: an INSERT is not a lock here.
"""

import re
from dataclasses import dataclass, field

from django.db import connection

#: Tables whose rows a settlement locks or writes after the member's row.
_AFTER_THE_MEMBER = (
    "otp_confirmation",
    "ledger_order",
    "ledger_trustedpayee",
    "ledger_limitchange",
    "channels_webchannel",
    "channels_mobilechannel",
)
_MEMBER = "members_member"
_LOCKING_READ = re.compile(r"\bFOR (NO KEY )?UPDATE\b")
_TABLE = re.compile(r'^\s*(?:UPDATE|DELETE FROM)\s+"?(\w+)"?', re.IGNORECASE)
_FROM = re.compile(r'\bFROM\s+"?(\w+)"?', re.IGNORECASE)


def _locked_table(sql: str) -> str | None:
    """The table whose existing rows `sql` locks, if it locks any."""
    written = _TABLE.match(sql)
    if written:
        return written.group(1)
    if _LOCKING_READ.search(sql):
        first = _FROM.search(sql)
        return first.group(1) if first else None
    return None


@dataclass
class LockOrderWatch:
    """An execute_wrapper recording each transaction's locks in order. `outer`: how many
    atomic blocks the test itself holds open (a test that is not `transaction=True` runs in
    one); the transaction of a flow is the next one."""

    outer: int = 0
    violations: list[str] = field(default_factory=list)
    _transaction: object = None
    _locked: list[str] = field(default_factory=list)
    _member_locked: bool = False

    def __call__(self, execute, sql, params, many, context):
        table = _locked_table(sql) if isinstance(sql, str) else None
        if table is not None and len(connection.atomic_blocks) > self.outer:
            current = connection.atomic_blocks[self.outer]
            if current is not self._transaction:
                self._transaction, self._locked, self._member_locked = current, [], False
            if table == _MEMBER:
                if not self._member_locked and self._locked:
                    self.violations.append(f"{self._locked} before {_MEMBER}: {sql[:200]}")
                self._member_locked = True
            elif table in _AFTER_THE_MEMBER:
                if not self._member_locked and self._locked and table not in self._locked:
                    self.violations.append(f"{self._locked} then {table} without {_MEMBER}")
                self._locked.append(table)
        return execute(sql, params, many, context)
