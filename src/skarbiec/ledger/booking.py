"""Booking (R-L2, R-L6): every movement of money is one balanced transaction.

A booking is one `post_transaction` call: entries sum to zero, the accounts are locked in pk
order (no deadlocks between opposite transfers), and a debit of a member account is a
conditional update that can never take the available balance below zero. The balance check
happens at booking time under those locks, never earlier.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet

from skarbiec.core import clock
from skarbiec.core.locks import for_update
from skarbiec.core.prepared import Update, prepared_select, prepared_update
from skarbiec.ledger.errors import (
    InsufficientFunds,
    UnbalancedTransaction,
)
from skarbiec.ledger.models import (
    Account,
    LedgerEntry,
    LedgerTransaction,
    write_balanced,
)
from skarbiec.members.models import CreditUnion


@dataclass(frozen=True)
class Leg:
    """One side of a booking: positive amounts are credits, negative debits."""

    account_id: int
    amount_minor: int
    counterparty_name: str = ""
    counterparty_account: str = ""


# Prepared shapes (core/prepared.py): every transfer books through them.
@prepared_select
def _two_accounts_locked(first: int, second: int) -> QuerySet[Account]:
    return for_update(Account.objects).filter(pk__in=[first, second]).order_by("pk")


def _moved(amount: int) -> dict[str, Any]:
    return {
        "booked_minor": F("booked_minor") + amount,
        "available_minor": F("available_minor") + amount,
    }


@prepared_update
def _move_balance(account_id: int, amount: int) -> Update:
    return Account.objects.filter(pk=account_id), _moved(amount)


@prepared_update
def _debit_within_available(account_id: int, amount: int) -> Update:
    # A debit (amount < 0) only while the available balance covers it: available + amount >= 0.
    covered = (
        Account.objects.filter(pk=account_id)
        .alias(available_after=F("available_minor") + amount)
        .filter(available_after__gte=0)
    )
    return covered, _moved(amount)


def post_transaction(
    credit_union: CreditUnion,
    kind: str,
    title: str,
    legs: list[Leg],
    booked_at: datetime | None = None,
) -> LedgerTransaction:
    """Book entries that sum to zero and move the stored balances with them, atomically.

    A member account is never debited below its available balance (InsufficientFunds);
    internal accounts of the credit union may go negative (the funding account does).
    """
    amounts = [leg.amount_minor for leg in legs]
    if (
        len(legs) < 2
        or sum(amounts) != 0
        or any(isinstance(a, bool) or not isinstance(a, int) or a == 0 for a in amounts)
        or len({leg.account_id for leg in legs}) != len(legs)
    ):
        raise UnbalancedTransaction()
    ids = sorted(leg.account_id for leg in legs)
    # No savepoint of its own (two statements less per booking): a failure part-way marks the
    # caller's transaction for rollback, and Django refuses any further statement in it, so a
    # half-written booking can never commit. A caller that goes on after a refusal wraps the
    # call in an atomic() of its own (an order's authorization, the demo's history).
    with transaction.atomic(savepoint=False):
        # Locks in pk order: two opposite transfers never wait on each other crosswise.
        locked = (
            _two_accounts_locked.all(first=ids[0], second=ids[1])
            if len(ids) == 2
            else for_update(Account.objects).filter(pk__in=ids).order_by("pk")
        )
        accounts = {a.pk: a for a in locked}
        # Stamped once the accounts are locked: an entry's time follows the bookings it waited
        # for, as its balance after it does (statements, history).
        when = booked_at or clock.now()
        if len(accounts) != len(legs) or any(
            a.credit_union_id != credit_union.pk for a in accounts.values()
        ):
            raise UnbalancedTransaction()
        entries: list[LedgerEntry] = []
        for leg in sorted(legs, key=lambda leg: leg.account_id):
            account = accounts[leg.account_id]
            amount = leg.amount_minor
            if amount < 0 and not account.is_internal:
                # Conditional update: holds even where the row lock is not (SQLite).
                moved = _debit_within_available.run(account_id=account.pk, amount=amount)
            else:
                moved = _move_balance.run(account_id=account.pk, amount=amount)
            if not moved:
                raise InsufficientFunds()
            account.booked_minor += amount
            account.available_minor += amount
            entries.append(
                LedgerEntry(
                    account=account,
                    amount_minor=amount,
                    balance_after_minor=account.booked_minor,
                    counterparty_name=leg.counterparty_name[:70],
                    counterparty_account=leg.counterparty_account,
                    search_text=f"{title} {leg.counterparty_name}".casefold()[:220],
                    booked_at=when,
                )
            )
        txn = LedgerTransaction(
            credit_union=credit_union, kind=kind, title=title[:140], booked_at=when
        )
        write_balanced(txn, entries)
    return txn
