"""The money path under parallel requests (R-L3, R-L4, R-L6, R-X4, R-X6, R-L2).

Real threads against the real database (transaction=True) where concurrency matters, in the
style of test_concurrency.py: no deadlock between one member's transfers or between members
(row locks take no key, core/locks.py), a retry after a database failure books, and the rest
pins down what holds.
"""

import threading
from collections import Counter

import pytest
from django.db import OperationalError, connection

from skarbiec.ledger import order_booking, orders
from skarbiec.ledger.accounts import deposit_cash, open_account
from skarbiec.ledger.integrity import ledger_problems
from skarbiec.ledger.limits import change_limits
from skarbiec.ledger.models import Account, LedgerEntry, LedgerTransaction, Order
from skarbiec.ledger.order_authorization import authorize_transfer, cancel_order
from skarbiec.ledger.orders import create_transfer_order
from skarbiec.ledger.payees import add_trusted_payee, confirm_trusted_payee
from skarbiec.otp.errors import OtpInvalid
from tests.factories import make_credit_union
from tests.ledger.helpers import (
    WEB,
    balance,
    internal_transfer_awaiting_code,
    last_code,
    member_with_account,
    run_parallel,
)


def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no row locks, no deadlocks")


# ---------------------------------------------------------------------------------------------
# an exempt transfer and an SMS-confirmed order of the same member deadlock (PG).


@pytest.mark.django_db(transaction=True)
def test_r_l6_r_x4_own_transfer_and_sms_order_from_one_account_do_not_deadlock(monkeypatch):
    """An own transfer (booked at once: the accounts locked FOR UPDATE) and an internal transfer
    that waits for its SMS code (the member's row locked FOR UPDATE by the send budget), from
    the same account at the same moment. At COMMIT PostgreSQL checks the deferred foreign keys
    of each new Order row with FOR KEY SHARE, which conflicts with FOR UPDATE: the own transfer
    waits for the member row the SMS order holds, the SMS order for the account the own transfer
    holds. Both orders are valid and must both go through.

    The hooks below only make the two requests overlap every time (the bench overlaps them by
    chance); they change nothing the requests do."""
    _postgresql_only()
    cu = make_credit_union()
    member, current = member_with_account(cu, balance_minor=1000_00)
    savings = open_account(member, Account.Kind.SAVINGS, WEB)
    _other, payee_account = member_with_account(cu, first_name="Anna", last_name="Nowak")

    accounts_locked = threading.Event()  # the own transfer booked, not yet committed
    member_locked = threading.Event()  # the SMS order holds the member's row
    real_record_event = order_booking.record_event
    real_start_confirmation = orders.start_confirmation

    def record_event_then_pause(event, *args, **kwargs):
        result = real_record_event(event, *args, **kwargs)
        if event in ("order_booked", "order_queued"):
            accounts_locked.set()
            member_locked.wait(timeout=10)
        return result

    def start_confirmation_then_signal(*args, **kwargs):
        result = real_start_confirmation(*args, **kwargs)
        member_locked.set()
        return result

    monkeypatch.setattr(order_booking, "record_event", record_event_then_pause)
    monkeypatch.setattr(orders, "start_confirmation", start_confirmation_then_signal)

    def request(i: int) -> str:
        if i == 0:
            order = create_transfer_order(
                member, "web", current.pk, savings.number, "", 10_00, "Own", "own-1", WEB
            )
        else:
            assert accounts_locked.wait(timeout=10)
            order = create_transfer_order(
                member, "web", current.pk, payee_account.number, "Anna Nowak", 20_00, "Rent",
                "sms-1", WEB,
            )  # fmt: skip
        return order.state

    outcomes = Counter(run_parallel(request, 2))
    assert outcomes == {"booked": 1, "awaiting_authorization": 1}, outcomes
    assert balance(current) == 990_00 and balance(savings) == 10_00
    assert ledger_problems() == []


@pytest.mark.django_db(transaction=True)
def test_r_l6_r_x4_mixed_own_and_sms_transfers_in_parallel_do_not_deadlock(settings):
    """The same as above without any hook: twenty requests of one member at once, half own
    transfers, half internal transfers waiting for a code. Each must succeed."""
    _postgresql_only()
    settings.ORDER_RATE_LIMIT = (10_000, 60)  # deadlocks are the question, not the limit
    cu = make_credit_union()
    member, current = member_with_account(cu, balance_minor=10_000_00)
    savings = open_account(member, Account.Kind.SAVINGS, WEB)
    _other, payee_account = member_with_account(cu, first_name="Anna", last_name="Nowak")

    def request(i: int) -> str:
        if i % 2:
            order = create_transfer_order(
                member, "web", current.pk, savings.number, "", 10_00, f"Own {i}", f"o-{i}", WEB
            )
        else:
            order = create_transfer_order(
                member, "web", current.pk, payee_account.number, "Anna Nowak", 10_00,
                f"Rent {i}", f"s-{i}", WEB,
            )  # fmt: skip
        return order.state

    outcomes: Counter[str] = Counter()
    for _round in range(5):
        outcomes += Counter(run_parallel(lambda i, r=_round: request(i + 100 * r), 20))
    assert outcomes == {"booked": 50, "awaiting_authorization": 50}, outcomes
    assert ledger_problems() == []


@pytest.mark.django_db(transaction=True)
def test_r_l6_r_x4_authorization_and_another_members_own_transfer_do_not_deadlock(monkeypatch):
    """Anna confirms her SMS transfer to Jan while Jan moves money between his own accounts.
    `lock_order` is `select_for_update()` with `select_related("from_account",
    "member__credit_union")` and no `of=`: PostgreSQL then locks the joined rows too, so every
    authorization holds the credit union's row FOR UPDATE while it books. Jan's booking holds
    his account and, at COMMIT, checks the deferred foreign key of its LedgerTransaction to the
    credit union with FOR KEY SHARE: it waits for Anna's authorization, which waits for Jan's
    account. Two members, two valid transfers, one deadlock.

    The hook only holds Jan's transaction open for a second after his booking, so that Anna's
    authorization reaches his account meanwhile (the bench overlaps them by chance)."""
    _postgresql_only()
    import time

    cu = make_credit_union()
    anna, a = member_with_account(cu, balance_minor=1000_00, first_name="Anna")
    jan, b = member_with_account(cu, balance_minor=1000_00, first_name="Jan")
    jan_savings = open_account(jan, Account.Kind.SAVINGS, WEB)
    order = create_transfer_order(anna, "web", a.pk, b.number, "Jan", 10_00, "Rent", "a-1", WEB)
    code = last_code(anna)

    jan_booked = threading.Event()
    real_record_event = order_booking.record_event

    def record_event_then_hold_jans_transaction(event, *args, **kwargs):
        result = real_record_event(event, *args, **kwargs)
        if event == "order_booked" and kwargs.get("member_id") == jan.pk:
            jan_booked.set()
            time.sleep(1)  # Anna's authorization meanwhile locks her order and waits for b
        return result

    monkeypatch.setattr(order_booking, "record_event", record_event_then_hold_jans_transaction)

    def request(i: int) -> str:
        if i == 0:
            return create_transfer_order(
                jan, "web", b.pk, jan_savings.number, "", 5_00, "Own", "j-1", WEB
            ).state
        assert jan_booked.wait(timeout=10)
        return authorize_transfer(anna, order.pk, code, WEB).state

    outcomes = Counter(run_parallel(request, 2))
    assert outcomes == {"booked": 2}, outcomes
    assert balance(a) == 990_00 and balance(b) == 1005_00 and balance(jan_savings) == 5_00
    assert ledger_problems() == []


# ---------------------------------------------------------------------------------------------
# a database failure after the code was accepted leaves the order unauthorisable.


@pytest.mark.django_db
def test_r_x6_r_l3_authorize_after_a_database_failure_can_be_retried(monkeypatch):
    """The code is accepted and committed (Confirmation CONFIRMED) in one transaction, the order
    booked in a later one. A database failure in between (deadlock victim, connection lost,
    statement timeout: the API answers 503 "try again") must leave the member able to retry
    with the same code; it used to get order_state_conflict and so did a resend, while
    the order stays awaiting_authorization for ever. Nor may the failures count as wrong codes:
    after two wrong ones, three failed bookings left the order with no attempt (R-X6, R-X7)."""
    cu = make_credit_union()
    payer, source, target, order = internal_transfer_awaiting_code(cu, 10_00, "r-1")
    code = last_code(payer)
    for left in (2, 1):
        with pytest.raises(OtpInvalid) as wrong:
            authorize_transfer(payer, order.pk, "000000" if code != "000000" else "111111", WEB)
        assert wrong.value.details["attempts_left"] == left
    real_post = order_booking.post_transaction
    failures = iter([OperationalError("deadlock detected")] * 3)

    def post_failing_thrice(*args, **kwargs):
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real_post(*args, **kwargs)

    monkeypatch.setattr(order_booking, "post_transaction", post_failing_thrice)
    for _ in range(3):
        with pytest.raises(OperationalError):
            authorize_transfer(payer, order.pk, code, WEB)  # the API answers 503 + Retry-After
    order.refresh_from_db()
    assert order.state == Order.State.AWAITING_AUTHORIZATION and balance(source) == 1000_00
    booked = authorize_transfer(payer, order.pk, code, WEB)  # the client's retry
    assert booked.state == Order.State.BOOKED
    assert balance(source) == 990_00 and balance(target) == 10_00


# ---------------------------------------------------------------------------------------------
# Checked and found sound (kept as regression tests).


@pytest.mark.django_db(transaction=True)
def test_r_l6_r_l3_parallel_authorizations_with_the_right_code_book_once():
    cu = make_credit_union()
    payer, source, target, order = internal_transfer_awaiting_code(cu, 100_00, "p-1")
    code = last_code(payer)

    def authorize(i: int) -> str:
        return authorize_transfer(payer, order.pk, code, WEB).state

    outcomes = Counter(run_parallel(authorize, 10))
    # Right codes in flight are counted before they are compared (R-X6): beyond three at once
    # the rest are refused as otp_attempts_exhausted, with no consequence. One books.
    assert outcomes["booked"] == 1, outcomes
    assert set(outcomes) <= {"booked", "order_state_conflict", "otp_attempts_exhausted"}, outcomes
    assert balance(source) == 900_00 and balance(target) == 100_00
    assert LedgerTransaction.objects.filter(kind="transfer").count() == 1
    assert ledger_problems() == []


@pytest.mark.django_db(transaction=True)
def test_r_l6_authorize_racing_cancel_ends_in_exactly_one_state():
    cu = make_credit_union()
    payer, source = member_with_account(cu, balance_minor=1000_00)
    _payee, target = member_with_account(cu, first_name="Anna", last_name="Nowak")
    for round_ in range(10):
        order = create_transfer_order(
            payer, "web", source.pk, target.number, "Anna Nowak", 10_00, f"R{round_}",
            f"c-{round_}", WEB,
        )  # fmt: skip
        code = last_code(payer)

        def act(i: int, order=order, code=code) -> str:
            if i % 2:
                return authorize_transfer(payer, order.pk, code, WEB).state
            return cancel_order(payer, order.pk, WEB).state

        outcomes = Counter(run_parallel(act, 4))
        order.refresh_from_db()
        assert order.state in (Order.State.BOOKED, Order.State.CANCELLED), outcomes
        assert (order.booking_id is not None) == (order.state == Order.State.BOOKED)
        assert not any(o.startswith("crash") for o in outcomes), outcomes
    booked = Order.objects.filter(member=payer, state="booked").count()
    assert balance(target) == booked * 10_00 and balance(source) == 1000_00 - booked * 10_00
    assert ledger_problems() == []


@pytest.mark.django_db(transaction=True)
def test_r_l6_opposite_internal_transfers_between_two_members_do_not_deadlock():
    """Two members pay each other at once (trusted payees: booked at once, limits locked)."""
    cu = make_credit_union()
    anna, a = member_with_account(cu, balance_minor=1000_00, first_name="Anna")
    jan, b = member_with_account(cu, balance_minor=1000_00, first_name="Jan")
    for payer, payee in ((anna, b), (jan, a)):
        add_trusted_payee(payer, "web", "Payee", payee.number, WEB)
        from skarbiec.ledger.models import TrustedPayee

        pending = TrustedPayee.objects.get(member=payer, account=payee.number)
        confirm_trusted_payee(payer, pending.pk, last_code(payer), WEB)

    def pay(i: int) -> str:
        payer, src, dst = (anna, a, b) if i % 2 else (jan, b, a)
        return create_transfer_order(
            payer, "web", src.pk, dst.number, "Payee", 10_00, f"T{i}", f"x-{i}", WEB
        ).state

    outcomes = Counter(run_parallel(pay, 30))
    assert outcomes == {"booked": 30}, outcomes
    assert balance(a) + balance(b) == 2000_00
    assert ledger_problems() == []


@pytest.mark.django_db(transaction=True)
def test_r_l4_r_x4_parallel_sms_authorizations_never_pass_the_daily_limit():
    """Ten orders wait for their codes; all ten codes entered at once: the daily limit (5 of
    them) holds under the limits row lock at booking."""
    cu = make_credit_union()
    payer, source = member_with_account(cu, balance_minor=100_000_00)
    _payee, target = member_with_account(cu, first_name="Anna", last_name="Nowak")
    change_limits(payer, "web", 100_00, 500_00, 1000_00, WEB)
    waiting = []
    for i in range(10):
        order = create_transfer_order(
            payer, "web", source.pk, target.number, "Anna Nowak", 100_00, f"Invoice {i}",
            f"l-{i}", WEB,
        )  # fmt: skip
        waiting.append((order.pk, last_code(payer)))

    def authorize(i: int) -> str:
        order_id, code = waiting[i]
        return authorize_transfer(payer, order_id, code, WEB).state

    outcomes = Counter(run_parallel(authorize, 10))
    assert outcomes == {"booked": 5, "limit_exceeded": 5}, outcomes
    assert balance(target) == 500_00
    assert ledger_problems() == []


@pytest.mark.django_db(transaction=True)
def test_r_l3_one_idempotency_key_with_different_bodies_in_parallel_books_one():
    cu = make_credit_union()
    member, source = member_with_account(cu, balance_minor=1000_00)
    savings = open_account(member, Account.Kind.SAVINGS, WEB)

    def pay(i: int) -> str:
        order = create_transfer_order(
            member, "web", source.pk, savings.number, "", 1_00 + i, "Once", "same-key", WEB
        )
        return "created" if order.amount_minor == 1_00 + i else "replayed-other-body"

    outcomes = Counter(run_parallel(pay, 20))
    assert outcomes == {"created": 1, "idempotency_conflict": 19}, outcomes
    assert Order.objects.filter(member=member).count() == 1
    only = Order.objects.get(member=member)
    assert balance(savings) == only.amount_minor
    assert LedgerEntry.objects.filter(account=savings).count() == 1
    assert ledger_problems() == []


@pytest.mark.django_db
def test_r_l6_deposit_then_transfer_keeps_the_ledger_exact():
    cu = make_credit_union()
    member, source = member_with_account(cu, balance_minor=5_00)
    deposit_cash(source, 1, WEB)
    savings = open_account(member, Account.Kind.SAVINGS, WEB)
    create_transfer_order(member, "web", source.pk, savings.number, "", 5_01, "All", "all", WEB)
    assert balance(source) == 0 and balance(savings) == 5_01
    assert ledger_problems() == []
