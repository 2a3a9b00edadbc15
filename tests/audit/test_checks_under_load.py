"""`skarbiec audit verify` (R-B5) and `skarbiec ledger check` (R-L2) on a live system.

Both commands are run by operators against the production database while the app and the
worker keep committing. Each reads with several statements, and each statement sees what was
committed when it started: what another process commits between two of them makes a sound
chain or ledger look broken. The other process is simulated by a thread (its own connection)
that commits exactly between two statements of the check, found with Django's execute_wrapper.
"""

import threading

import pytest
from django.db import connection

from skarbiec.audit.services import record_event, seal_audit_chains, verify_audit_chains
from skarbiec.core.context import RequestContext
from skarbiec.ledger.accounts import deposit_cash
from skarbiec.ledger.integrity import ledger_problems
from tests.factories import make_credit_union
from tests.ledger.helpers import WEB, member_with_account

CTX = RequestContext(ip_address="10.0.0.1", channel="web", actor="member")


class _AnotherProcess:
    """`fn` run on a connection of its own. On PostgreSQL it commits while the check waits;
    on SQLite the check's transaction holds writers off (`core.snapshots.one_moment`), so it
    must still be waiting a second later, and commits once the check is done."""

    def __init__(self, fn) -> None:
        self.fn = fn
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        try:
            self.fn()
        except BaseException as e:  # noqa: BLE001 (reported by finish)
            self.errors.append(e)
        finally:
            connection.close()

    def commit_meanwhile(self) -> None:
        self.thread.start()
        if connection.vendor == "postgresql":
            self.finish()
        else:
            self.thread.join(timeout=1)
            assert self.thread.is_alive(), self.errors

    def finish(self) -> None:
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()
        assert not self.errors, self.errors


def _before_first_query_matching(predicate, fn):
    """An execute_wrapper that runs `fn` (once) just before the first statement of this
    connection whose SQL matches `predicate`."""
    state = {"done": False}

    def wrapper(execute, sql, params, many, context):
        if not state["done"] and predicate(sql):
            state["done"] = True
            fn()
        return execute(sql, params, many, context)

    return wrapper


@pytest.mark.django_db(transaction=True)
def test_r_b5_verify_stays_exact_while_the_worker_seals():
    """A sound chain, verified while the worker seals one more committed event into it: verify
    read the chain heads, then the worker committed event #4 and moved the head to 4, then
    verify read events 1..4 against the head it had read (3): "chain head does not match"."""
    for n in range(3):
        record_event("web_login", CTX, credit_union_id=41, member_id=n)
    assert seal_audit_chains() == 3
    assert verify_audit_chains() == []

    def worker_seals_one_more() -> None:
        record_event("web_logout", CTX, credit_union_id=41, member_id=1)
        assert seal_audit_chains() == 1

    worker = _AnotherProcess(worker_seals_one_more)
    events_of_a_chain = _before_first_query_matching(
        lambda sql: '"audit_auditevent"' in sql and '"seq" IS NOT NULL' in sql,
        worker.commit_meanwhile,
    )
    with connection.execute_wrapper(events_of_a_chain):
        problems = verify_audit_chains()
    worker.finish()
    assert problems == [], problems
    assert verify_audit_chains() == []  # and nothing was wrong with the chain


@pytest.mark.django_db(transaction=True)
def test_r_l2_ledger_check_stays_exact_while_money_is_booked():
    """A sound ledger, checked while a branch deposit commits: the check summed the entries,
    then the deposit committed, then the check read the accounts' balances (which include
    it): "booked balance … but entries sum to …"."""
    cu = make_credit_union()
    _member, account = member_with_account(cu, balance_minor=100_00)
    assert ledger_problems() == []

    deposit = _AnotherProcess(lambda: deposit_cash(account, 5_00, WEB))
    accounts_read = _before_first_query_matching(
        lambda sql: 'FROM "ledger_account"' in sql and "ledger_ledgerentry" not in sql,
        deposit.commit_meanwhile,
    )
    with connection.execute_wrapper(accounts_read):
        problems = ledger_problems()
    deposit.finish()
    assert problems == [], [str(p) for p in problems]
    assert ledger_problems() == []  # and nothing was wrong with the ledger
