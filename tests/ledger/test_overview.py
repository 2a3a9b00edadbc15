"""The start page's figures (R-L1, R-L3, R-L5): latest operations across accounts, orders on
their way, income and expenses per month; built through the real services."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from skarbiec.core import clock
from skarbiec.ledger import overview
from skarbiec.ledger.accounts import deposit_cash, open_account
from skarbiec.ledger.models import Account, Order
from skarbiec.ledger.order_authorization import authorize_transfer
from skarbiec.ledger.orders import create_transfer_order
from tests.ledger.helpers import EXTERNAL, WEB, key, last_code, member_with_account

pytestmark = pytest.mark.django_db

DAY = 86400


def test_r_l5_recent_operations_span_all_accounts_newest_first_and_stop_at_the_limit():
    member, current = member_with_account(balance_minor=500_00)
    savings = open_account(member, Account.Kind.SAVINGS, WEB)
    for i in range(5):
        clock.advance(60)
        deposit_cash(savings if i % 2 else current, 10_00 + i, WEB, title=f"Deposit {i}")
    other, _account = member_with_account(member.credit_union, balance_minor=99_00)

    ops = overview.recent_operations(member, limit=4)

    assert [op.item.title for op in ops] == ["Deposit 4", "Deposit 3", "Deposit 2", "Deposit 1"]
    # Names the system gave, in the active language (Polish by default, R-X5).
    assert {op.account_name for op in ops} == {"Konto osobiste", "Konto oszczędnościowe"}
    with translation.override("en"):
        names = {op.account_name for op in overview.recent_operations(member, limit=4)}
    assert names == {"Current account", "Savings account"}
    assert all(op.item.amount_minor > 0 for op in ops)
    # Another member's money never shows.
    assert all(op.account_number != _account.number for op in ops)


def test_r_l3_waiting_orders_are_those_awaiting_a_code_or_clearing():
    member, current = member_with_account(balance_minor=1_000_00)
    savings = open_account(member, Account.Kind.SAVINGS, WEB)
    own = create_transfer_order(
        member, "web", current, savings.number, "", 10_00, "Own", key(), WEB
    )
    external = create_transfer_order(
        member, "web", current, EXTERNAL, "Jan Kowalski", 20_00, "Rent", key(), WEB
    )
    assert own.state == Order.State.BOOKED
    assert external.state == Order.State.AWAITING_AUTHORIZATION

    assert [o.pk for o in overview.waiting_orders(member)] == [external.pk]


def test_r_l5_monthly_totals_sum_income_and_expenses_per_month_without_own_transfers():
    member, current = member_with_account(balance_minor=300_00)  # month 0: +300
    savings = open_account(member, Account.Kind.SAVINGS, WEB)
    clock.advance(32 * DAY)  # month 1
    create_transfer_order(member, "web", current, savings.number, "", 50_00, "Own", key(), WEB)
    deposit_cash(current, 25_00, WEB)
    clock.advance(32 * DAY)  # month 2
    other, payee = member_with_account(member.credit_union)
    order = create_transfer_order(
        member, "web", current, payee.number, "Ewa", 40_00, "Gift", key(), WEB
    )
    authorize_transfer(member, order.pk, last_code(member), WEB)
    today = timezone.localdate(clock.now())

    with CaptureQueriesContext(connection) as queries:
        totals = overview.monthly_totals(member, months=4, today=today)
    assert len(queries.captured_queries) == 1

    assert [t.month.day for t in totals] == [1, 1, 1, 1]
    assert totals[-1].month == today.replace(day=1)
    figures = [(t.income_minor, t.expenses_minor) for t in totals]
    # The month before the first deposit is zeros; own transfers count neither way.
    assert figures[0] == (0, 0)
    assert sum(f[0] for f in figures) == 325_00
    assert sum(f[1] for f in figures) == 40_00
    assert figures[-1] == (0, 40_00)


def test_r_l5_monthly_totals_cover_six_months_by_default_and_at_most_twelve():
    member, _current = member_with_account(balance_minor=10_00)
    assert len(overview.monthly_totals(member)) == 6
    assert len(overview.monthly_totals(member, months=40)) == 12
    totals = overview.monthly_totals(member, months=3, today=date(2026, 2, 14))
    assert [t.month for t in totals] == [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]
