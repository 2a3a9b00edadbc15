"""R-L1, R-L2: accounts, balanced immutable bookings, `skarbiec ledger check`."""

import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError

from skarbiec.ledger.accounts import ensure_internal_accounts, open_account
from skarbiec.ledger.booking import Leg, post_transaction
from skarbiec.ledger.errors import ImmutableRecord, InsufficientFunds, UnbalancedTransaction
from skarbiec.ledger.integrity import ledger_problems
from skarbiec.ledger.models import Account, LedgerEntry, LedgerTransaction
from skarbiec.ledger.nrb import is_valid_nrb, sort_code_of
from tests.factories import make_credit_union
from tests.ledger.helpers import WEB, balance, member_with_account


@pytest.mark.django_db
def test_r_l1_accounts_get_numbers_of_their_credit_union_and_internal_accounts_exist():
    cu = make_credit_union()
    member, current = member_with_account(cu)
    savings = open_account(member, Account.Kind.SAVINGS, WEB)
    for acc in (current, savings):
        assert is_valid_nrb(acc.number) and sort_code_of(acc.number) == cu.sort_code
        assert acc.currency == "PLN" and acc.booked_minor == 0 and acc.available_minor == 0
    internal = ensure_internal_accounts(cu)
    assert set(internal) == {"clearing", "settlement", "funding"}
    assert all(a.member_id is None and is_valid_nrb(a.number) for a in internal.values())
    assert ensure_internal_accounts(cu)["clearing"].pk == internal["clearing"].pk


@pytest.mark.django_db
def test_r_l2_deposit_moves_booked_and_available_and_union_total_stays_zero():
    cu = make_credit_union()
    _member, account = member_with_account(cu, balance_minor=150_00)
    account.refresh_from_db()
    assert account.booked_minor == account.available_minor == 150_00
    funding = ensure_internal_accounts(cu)["funding"]
    funding.refresh_from_db()
    assert funding.booked_minor == -150_00
    assert sum(Account.objects.filter(credit_union=cu).values_list("booked_minor", flat=True)) == 0
    assert ledger_problems() == []


@pytest.mark.django_db
def test_r_l2_unbalanced_or_degenerate_bookings_refused_and_nothing_written():
    cu = make_credit_union()
    _m1, a = member_with_account(cu, balance_minor=100_00)
    _m2, b = member_with_account(cu)
    before = LedgerEntry.objects.count()
    for legs in (
        [Leg(a.pk, -100), Leg(b.pk, 99)],
        [Leg(a.pk, -100)],
        [Leg(a.pk, 0), Leg(b.pk, 0)],
        [Leg(a.pk, -100), Leg(a.pk, 100)],
        [Leg(a.pk, -1.5), Leg(b.pk, 1.5)],  # no float on the money path
    ):
        with pytest.raises(UnbalancedTransaction), transaction.atomic():
            post_transaction(cu, "transfer", "x", legs)
    other_cu = make_credit_union()
    _m3, c = member_with_account(other_cu)
    with pytest.raises(UnbalancedTransaction), transaction.atomic():
        post_transaction(cu, "transfer", "x", [Leg(a.pk, -100), Leg(c.pk, 100)])
    assert LedgerEntry.objects.count() == before
    assert balance(a) == 100_00


@pytest.mark.django_db
def test_r_l6_member_account_never_debited_below_zero():
    cu = make_credit_union()
    _m1, a = member_with_account(cu, balance_minor=100_00)
    _m2, b = member_with_account(cu)
    # A caller that goes on after a refusal wraps the booking in an atomic() of its own.
    with pytest.raises(InsufficientFunds), transaction.atomic():
        post_transaction(cu, "transfer", "x", [Leg(a.pk, -100_01), Leg(b.pk, 100_01)])
    post_transaction(cu, "transfer", "x", [Leg(a.pk, -100_00), Leg(b.pk, 100_00)])
    assert balance(a) == 0 and balance(b) == 100_00
    entry = LedgerEntry.objects.filter(account=b).get()
    assert entry.balance_after_minor == 100_00 and entry.amount_minor == 100_00


@pytest.mark.django_db
def test_r_l2_a_booking_refused_part_way_cannot_be_committed_by_its_caller():
    """The booking has no savepoint of its own: the credit to the lower account number is
    written before the debit is refused, and the caller's transaction then refuses every
    statement until it is rolled back, so the half-written booking can never commit."""
    cu = make_credit_union()
    _m1, payee = member_with_account(cu)
    _m2, payer = member_with_account(cu, balance_minor=100_00)
    assert payee.pk < payer.pk  # the credit leg is written first
    with transaction.atomic():
        with pytest.raises(InsufficientFunds):
            post_transaction(cu, "transfer", "x", [Leg(payer.pk, -100_01), Leg(payee.pk, 100_01)])
        with pytest.raises(TransactionManagementError):
            Account.objects.filter(pk=payee.pk).update(name="after a refusal")
        transaction.set_rollback(True)
    assert balance(payee) == 0 and balance(payer) == 100_00
    assert ledger_problems() == []


@pytest.mark.django_db
def test_r_l2_entries_and_transactions_are_immutable():
    cu = make_credit_union()
    _m, a = member_with_account(cu, balance_minor=100_00)
    entry = LedgerEntry.objects.filter(account=a).first()
    txn = entry.transaction
    entry.amount_minor = 1
    with pytest.raises(ImmutableRecord):
        entry.save()
    with pytest.raises(ImmutableRecord):
        entry.delete()
    with pytest.raises(ImmutableRecord):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount_minor=1)
    with pytest.raises(ImmutableRecord):
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(ImmutableRecord):
        txn.save()
    with pytest.raises(ImmutableRecord):
        txn.delete()
    with pytest.raises(ImmutableRecord):
        LedgerTransaction.objects.all().delete()


@pytest.mark.django_db
def test_r_l2_lone_entries_or_unchecked_transactions_refused_at_model_save():
    cu = make_credit_union()
    _m, a = member_with_account(cu, balance_minor=100_00)
    txn = LedgerTransaction.objects.first()
    with pytest.raises(UnbalancedTransaction):
        LedgerEntry(
            transaction=txn,
            account=a,
            amount_minor=5,
            balance_after_minor=0,
            booked_at=txn.booked_at,
        ).save()
    with pytest.raises(UnbalancedTransaction):
        LedgerTransaction(
            credit_union=cu, kind="deposit", title="x", booked_at=txn.booked_at
        ).save()
    assert ledger_problems() == []


def _tamper(sql: str, params: list) -> None:
    with connection.cursor() as cur:
        cur.execute(sql, params)


@pytest.mark.django_db
def test_r_l2_ledger_check_passes_then_detects_a_tampered_balance(capsys):
    cu = make_credit_union()
    _m, a = member_with_account(cu, balance_minor=100_00)
    call_command("ledger", "check")
    assert "passed" in capsys.readouterr().out
    _tamper(
        f"UPDATE {Account._meta.db_table} SET booked_minor = booked_minor + 1 WHERE id = %s", [a.pk]
    )
    with pytest.raises(CommandError) as e:
        call_command("ledger", "check")
    assert e.value.returncode == 1
    assert a.number in capsys.readouterr().err


def _database_url() -> str:
    d = connection.settings_dict
    if d["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{d['NAME']}"
    return f"postgres://{d['USER']}@{d['HOST']}:{d['PORT']}/{d['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_r_l2_ledger_check_exits_non_zero_on_a_tampered_entry():
    """`skarbiec ledger check` as a real process against the test database."""
    cu = make_credit_union()
    _m, a = member_with_account(cu, balance_minor=100_00)
    env = {**os.environ, "DATABASE_URL": _database_url()}
    skarbiec = [sys.executable, "-m", "skarbiec", "ledger", "check"]
    ok = subprocess.run(skarbiec, env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    _tamper(
        f"UPDATE {LedgerEntry._meta.db_table} SET amount_minor = amount_minor + 7 "
        "WHERE account_id = %s",
        [a.pk],
    )
    bad = subprocess.run(skarbiec, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "entries sum to 10007" in bad.stderr
    problems = {p.what for p in ledger_problems()}
    assert {"account", "transaction", "credit union"} <= problems


@pytest.mark.django_db
def test_r_l2_ledger_check_detects_a_wrong_balance_after_an_entry():
    """History and statements show each entry's balance after it (R-L5); a stored figure that
    is not the account's running sum is a ledger problem even where the totals agree."""
    cu = make_credit_union()
    _m, a = member_with_account(cu, balance_minor=100_00)
    other = member_with_account(cu, balance_minor=0)[1]
    post_transaction(cu, "transfer", "rent", [Leg(a.pk, -30_00), Leg(other.pk, 30_00)])
    assert ledger_problems() == []
    last = LedgerEntry.objects.filter(account=a).latest("pk")
    _tamper(
        f"UPDATE {LedgerEntry._meta.db_table} SET balance_after_minor = 10000 WHERE id = %s",
        [last.pk],
    )
    problems = ledger_problems()
    assert [(p.what, p.ref) for p in problems] == [("entry", str(last.pk))]
    assert "run to 7000" in str(problems[0])
