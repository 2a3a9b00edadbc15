"""R-L3: clearing's answer is applied once, whole, and never books a transfer it rejects."""

import os
import secrets
import stat
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from skarbiec.core import clock
from skarbiec.ledger import clearing
from skarbiec.ledger.clearing import outgoing_dir, send_outgoing_batches, settle_sent_orders
from skarbiec.ledger.errors import RejectionOfUnsentOrder
from skarbiec.ledger.integrity import ledger_problems
from skarbiec.ledger.models import Account, Order, OutgoingBatch
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

    for unreadable in ("²", "1" * 5000):  # not an order id, never a crash
        with pytest.raises(CommandError):
            call_command("settle", "--reject", f"{unreadable}:account_closed")

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
    path = outgoing_dir() / batch.file_name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def _killed_before_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process dies after the batch committed and before its file is on disk."""

    def die(*args: object) -> None:
        raise SystemExit("killed")

    monkeypatch.setattr(clearing, "_place_durably", die)


@pytest.mark.django_db
def test_r_l3_a_batch_a_crash_kept_off_disk_is_answered_only_once_written(monkeypatch):
    cu = make_credit_union()
    member, source = member_with_account(cu, balance_minor=1000_00)
    orders = []
    for i in range(2):
        order = create_transfer_order(
            member, "web", source.pk, EXTERNAL, "Energa SA", 10_00, f"Bill {i}", key(), WEB
        )
        orders.append(authorize_transfer(member, order.pk, last_code(member), WEB))
    with monkeypatch.context() as m:
        _killed_before_the_file(m)
        with pytest.raises(SystemExit):
            send_outgoing_batches()
    batch = OutgoingBatch.objects.get(credit_union=cu)
    assert batch.written_at is None and _states(orders) == ["sent", "sent"]
    assert not (outgoing_dir() / batch.file_name).exists()
    # Clearing never got the file: it has no answer to give, and none is applied.
    assert settle_sent_orders() == (0, 0)
    with pytest.raises(RejectionOfUnsentOrder):
        settle_sent_orders({orders[0].pk: "account_closed"})
    assert _states(orders) == ["sent", "sent"]

    assert send_outgoing_batches() == []  # the next run writes the batch, makes no new one
    batch.refresh_from_db()
    text = (outgoing_dir() / batch.file_name).read_text(encoding="utf-8")
    assert batch.written_at is not None
    assert all(f"SKARBIEC-{o.pk}" in text for o in orders)
    assert settle_sent_orders() == (2, 0) and _states(orders) == ["booked", "booked"]
    assert ledger_problems() == []


@pytest.mark.django_db
def test_r_l3_a_file_written_again_is_the_one_the_batch_would_have_had():
    _cu, _source, orders = _sent_transfers(2)
    batch = Order.objects.get(pk=orders[0].pk).batch
    path = outgoing_dir() / batch.file_name
    first = path.read_bytes()
    path.unlink()
    OutgoingBatch.objects.filter(pk=batch.pk).update(written_at=None)
    clock.advance(3 * 86400)  # the next run may come days later
    assert clearing.write_unwritten_batch_files() == 1
    assert path.read_bytes() == first


@pytest.mark.django_db
def test_r_l3_a_file_already_in_place_is_never_written_twice():
    """Killed after the rename, before the batch was marked: clearing may have the file, so
    it is marked written, not written again."""
    _cu, _source, orders = _sent_transfers(1)
    batch = Order.objects.get(pk=orders[0].pk).batch
    path = outgoing_dir() / batch.file_name
    path.write_bytes(b"as clearing took it\r\n")
    OutgoingBatch.objects.filter(pk=batch.pk).update(written_at=None)
    assert clearing.write_unwritten_batch_files() == 1
    assert path.read_bytes() == b"as clearing took it\r\n"
    assert OutgoingBatch.objects.get(pk=batch.pk).written_at is not None
    assert settle_sent_orders() == (1, 0)


@pytest.mark.django_db(transaction=True)
def test_r_l3_batches_of_the_earlier_version_are_marked_written_at_the_upgrade():
    """Their files went out as each committed: none may be written a second time."""
    from tests.migrating import migrate_to, migrated_back_to

    cu = make_credit_union()
    made = clock.now()
    old, killed = (f"elixir-{what}-{secrets.token_hex(4)}.csv" for what in ("old", "killed"))
    with migrated_back_to(("ledger", "0006_cash_requests")) as earlier:
        for name in (old, killed):
            earlier.get_model("ledger", "OutgoingBatch").objects.create(
                credit_union_id=cu.pk, file_name=name, order_count=0, total_minor=0,
                created_at=made,
            )  # fmt: skip
        # The earlier version killed between its commit and the rename left only the .tmp file.
        (outgoing_dir() / f"{killed}.tmp").write_text("half")
        migrate_to(("ledger", "0007_outgoing_batch_written"))
    assert OutgoingBatch.objects.get(file_name=old).written_at == made
    assert OutgoingBatch.objects.get(file_name=killed).written_at is None
    assert clearing.write_unwritten_batch_files() == 1
    assert (outgoing_dir() / killed).read_text().startswith("order_type,")


@pytest.mark.django_db
def test_r_l3_a_batch_is_never_sent_inside_a_callers_transaction():
    """Its file would go out before a caller's rollback put the orders back to PENDING, to be
    sent again in the next batch: a double payment."""
    from django.db import transaction

    cu = make_credit_union()
    with pytest.raises(RuntimeError), transaction.atomic():
        clearing.send_outgoing_batch(cu)
