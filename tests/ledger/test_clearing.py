"""R-L3: clearing's answer is applied once, whole, and never books a transfer it rejects."""

import os
import stat
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from skarbiec.ledger.clearing import send_outgoing_batches, settle_sent_orders
from skarbiec.ledger.errors import RejectionOfUnsentOrder
from skarbiec.ledger.integrity import ledger_problems
from skarbiec.ledger.models import Account, Order
from skarbiec.ledger.order_authorization import authorize_transfer
from skarbiec.ledger.orders import create_transfer_order
from tests.factories import make_credit_union
from tests.ledger.helpers import (
    EXTERNAL,
    WEB,
    balance,
    key,
    last_code,
    member_with_account,
    run_parallel,
)


def _sent_transfers(n: int, amount_minor: int = 10_00):
    cu = make_credit_union()
    member, source = member_with_account(cu, balance_minor=1000_00)
    orders = []
    for i in range(n):
        order = create_transfer_order(
            member, "web", source.pk, EXTERNAL, "Energa SA", amount_minor, f"Bill {i}", key(), WEB
        )
        orders.append(authorize_transfer(member, order.pk, last_code(member), WEB))
    send_outgoing_batches()
    return cu, source, orders


def _states(orders) -> list[str]:
    return [Order.objects.get(pk=o.pk).state for o in orders]


@pytest.mark.django_db
def test_r_l3_a_rejection_naming_an_order_not_awaiting_settlement_books_nothing():
    _cu, source, orders = _sent_transfers(2)
    before = balance(source)
    mistyped = orders[-1].pk + 1000
    with pytest.raises(CommandError, match=str(mistyped)):
        call_command("settle", "--reject", f"{mistyped}:account_closed")
    assert _states(orders) == ["sent", "sent"]  # not booked as if clearing had accepted them
    assert settle_sent_orders({orders[1].pk: "account_closed"}) == (1, 1)
    assert _states(orders) == ["booked", "rejected"] and balance(source) == before + 10_00

    _cu, _source, later = _sent_transfers(1)
    with pytest.raises(RejectionOfUnsentOrder):  # an order settled before
        settle_sent_orders({orders[0].pk: "account_closed"})
    assert _states(later) == ["sent"] and _states(orders) == ["booked", "rejected"]
    assert ledger_problems() == []


@pytest.mark.django_db(transaction=True)
def test_r_l3_r_x4_parallel_settlements_apply_one_answer_each_order_once():
    cu, source, orders = _sent_transfers(6)
    refused = orders[2]

    def settle(i: int) -> object:
        return settle_sent_orders({refused.pk: "account_closed"} if i == 0 else {})

    outcomes = run_parallel(settle, 4)
    assert not [o for o in outcomes if str(o).startswith("crash")], outcomes
    counted = Counter("applied" if isinstance(o, tuple) else o for o in outcomes)
    # The run with the rejection either came first (the order refunded) or found it booked
    # by another run and booked nothing (the operator is told); no run failed part-way.
    refunded = Order.objects.get(pk=refused.pk).state == "rejected"
    assert counted == (
        {"applied": 4} if refunded else {"applied": 3, "rejection_of_unsent_order": 1}
    ), outcomes
    totals = [o for o in outcomes if isinstance(o, tuple)]
    assert sum(b for b, _ in totals) == 5 + (not refunded)
    assert sum(r for _, r in totals) == int(refunded)
    settlement = Account.objects.get(credit_union=cu, kind="settlement")
    assert balance(settlement) == (5 + (not refunded)) * 10_00
    assert balance(source) == 1000_00 - 60_00 + refunded * 10_00
    assert ledger_problems() == []


@pytest.mark.django_db
def test_r_x9_a_batch_file_is_the_owners_only_whatever_the_umask(
    django_capture_on_commit_callbacks,
):
    old = os.umask(0)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            _cu, _source, orders = _sent_transfers(1)
    finally:
        os.umask(old)
    batch = Order.objects.get(pk=orders[0].pk).batch
    from skarbiec.ledger.clearing import outgoing_dir

    path = outgoing_dir() / batch.file_name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
