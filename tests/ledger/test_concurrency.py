"""R-L6, R-X4, R-L3: parallel orders never overdraw an account and never book twice.

Real threads against the real database (transaction=True), on SQLite and PostgreSQL.
"""

from collections import Counter

import pytest

from skarbiec.ledger.accounts import open_account
from skarbiec.ledger.integrity import ledger_problems
from skarbiec.ledger.limits import change_limits
from skarbiec.ledger.models import Account, LedgerEntry, Order
from skarbiec.ledger.orders import create_transfer_order
from skarbiec.ledger.payees import add_trusted_payee, confirm_trusted_payee
from tests.factories import make_credit_union
from tests.ledger.helpers import WEB, balance, last_code, member_with_account, run_parallel

THREADS = 50


@pytest.fixture(autouse=True)
def _orders_per_minute_out_of_the_way(settings):
    # The bursts here are about overdrafts and double bookings, not the per-minute limit.
    settings.ORDER_RATE_LIMIT = (10_000, 60)


@pytest.mark.django_db(transaction=True)
def test_r_l6_fifty_parallel_transfers_drain_one_account_never_overdraw():
    cu = make_credit_union()
    member, source = member_with_account(cu, balance_minor=10 * 37_00)
    savings = open_account(member, Account.Kind.SAVINGS, WEB)

    def pay(i: int) -> str:
        order = create_transfer_order(
            member, "web", source.pk, savings.number, "", 37_00, f"Part {i}", f"drain-{i}", WEB
        )
        return order.state

    outcomes = Counter(run_parallel(pay, THREADS))
    assert outcomes == {"booked": 10, "insufficient_funds": THREADS - 10}, outcomes
    source.refresh_from_db()
    assert source.booked_minor == 0 and source.available_minor == 0
    assert balance(savings) == 10 * 37_00
    assert Order.objects.filter(member=member, state="booked").count() == 10
    assert LedgerEntry.objects.filter(account=source, amount_minor__lt=0).count() == 10
    assert ledger_problems() == []


@pytest.mark.django_db(transaction=True)
def test_r_l6_opposite_transfers_in_parallel_do_not_deadlock_and_keep_totals():
    cu = make_credit_union()
    a_member, a = member_with_account(cu, balance_minor=1000_00)
    b = open_account(a_member, Account.Kind.SAVINGS, WEB)
    from skarbiec.ledger.accounts import deposit_cash

    deposit_cash(b, 1000_00, WEB)

    def pay(i: int) -> str:
        src, dst = (a, b) if i % 2 else (b, a)
        return create_transfer_order(
            a_member, "web", src.pk, dst.number, "", 10_00, "Swap", f"swap-{i}", WEB
        ).state

    outcomes = Counter(run_parallel(pay, 30))
    assert outcomes == {"booked": 30}, outcomes
    assert balance(a) + balance(b) == 2000_00
    assert ledger_problems() == []


@pytest.mark.django_db(transaction=True)
def test_r_l3_same_idempotency_key_in_parallel_books_once():
    cu = make_credit_union()
    member, source = member_with_account(cu, balance_minor=1000_00)
    savings = open_account(member, Account.Kind.SAVINGS, WEB)

    def pay(i: int) -> str:
        order = create_transfer_order(
            member, "web", source.pk, savings.number, "", 25_00, "Once", "the-same-key", WEB
        )
        return f"order-{order.pk}-{order.state}"

    outcomes = Counter(run_parallel(pay, 20))
    assert len(outcomes) == 1 and next(iter(outcomes.values())) == 20, outcomes
    assert Order.objects.filter(member=member).count() == 1
    assert balance(source) == 975_00 and balance(savings) == 25_00
    assert ledger_problems() == []


@pytest.mark.django_db(transaction=True)
def test_r_l4_r_x4_parallel_transfers_to_a_trusted_payee_never_pass_the_daily_limit():
    """An exempt order's limits are checked once, under the member's limits row lock at
    booking: twenty at once stop exactly at the daily limit."""
    cu = make_credit_union()
    member, source = member_with_account(cu, balance_minor=100_000_00)
    _payee_member, payee_account = member_with_account(cu)
    change_limits(member, "web", 100_00, 500_00, 1000_00, WEB)
    pending = add_trusted_payee(member, "web", "Anna Nowak", payee_account.number, WEB)
    confirm_trusted_payee(member, pending.pk, last_code(member), WEB)

    def pay(i: int) -> str:
        order = create_transfer_order(
            member, "web", source.pk, payee_account.number, "Anna Nowak", 100_00, f"T{i}",
            f"limit-{i}", WEB,
        )  # fmt: skip
        return order.state

    outcomes = Counter(run_parallel(pay, 20))
    assert outcomes == {"booked": 5, "limit_exceeded": 15}, outcomes
    assert Order.objects.filter(member=member).count() == 5
    assert balance(payee_account) == 500_00
    assert ledger_problems() == []


@pytest.mark.django_db(transaction=True)
def test_r_x10_r_x4_parallel_orders_booked_at_once_stop_exactly_at_the_minutes_limit(settings):
    """Forty own transfers at once against a limit of 25 a minute: each is counted by one
    atomic upsert before anything is stored, so exactly 25 are booked, whatever the timing."""
    from skarbiec.core import clock

    settings.ORDER_RATE_LIMIT = (25, 60)
    clock.advance(60 - clock.now().timestamp() % 60)  # all within one minute's window
    cu = make_credit_union()
    member, source = member_with_account(cu, balance_minor=1000_00)
    savings = open_account(member, Account.Kind.SAVINGS, WEB)

    def pay(i: int) -> str:
        order = create_transfer_order(
            member, "web", source.pk, savings.number, "", 1_00, f"Fast {i}", f"fast-{i}", WEB
        )
        return order.state

    outcomes = Counter(run_parallel(pay, 40))
    assert outcomes == {"booked": 25, "rate_limited": 15}, outcomes
    assert Order.objects.filter(member=member).count() == 25
    assert balance(savings) == 25_00
    assert ledger_problems() == []
