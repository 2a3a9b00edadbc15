"""Row locks of the money path that no other test needs (R-L3, R-L6, R-X4, R-O2): each test
makes a second request run while the first holds its lock, on PostgreSQL (SQLite queues
writers, so nothing ever runs inside another's transaction there).

Each hook lets the second request run for up to a second: with the lock it waits (the join
times out) and then finds the first one's result; without it, it runs to its end inside the
first one's transaction."""

import threading

import pytest
from django.db import connection

from skarbiec.audit.models import AuditEvent
from skarbiec.core.errors import DomainError
from skarbiec.ledger import clearing, order_booking, payees
from skarbiec.ledger.clearing import send_outgoing_batch
from skarbiec.ledger.errors import TransferCancelledAfterWrongCodes
from skarbiec.ledger.integrity import ledger_problems
from skarbiec.ledger.models import Order, OutgoingBatch, TrustedPayee
from skarbiec.ledger.order_authorization import authorize_transfer, cancel_order
from skarbiec.ledger.orders import create_transfer_order
from skarbiec.ledger.payee_book import save_payee
from skarbiec.ledger.payees import add_trusted_payee, confirm_trusted_payee
from tests.factories import make_credit_union
from tests.ledger.helpers import (
    EXTERNAL,
    MOBILE,
    WEB,
    balance,
    internal_transfer_awaiting_code,
    key,
    last_code,
    member_with_account,
    wrong_code,
)


def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no request runs inside another's")


#: The name of the thread a hook starts: its own call of the hooked function runs the real one.
MEANWHILE = "meanwhile"


def _on_a_thread(work, results: list) -> threading.Thread:
    def run() -> None:
        try:
            results.append(work())
        except DomainError as e:
            results.append(e.code)
        except Exception as e:  # noqa: BLE001 - a crash must fail the test, visibly
            results.append(f"crash:{type(e).__name__}:{e}")
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=MEANWHILE)
    thread.start()
    return thread


def _meanwhile(monkeypatch, module, name: str, work, results: list) -> list[threading.Thread]:
    """`work` on another connection at the first call of `module.name`, given a second to
    finish before that call goes on (with a lock first it waits; without, it runs into the
    other order)."""
    real = getattr(module, name)
    threads: list[threading.Thread] = []

    def hooked(*args, **kwargs):
        # Not from the thread it starts, whose call can come before the append.
        if not threads and threading.current_thread().name != MEANWHILE:
            threads.append(_on_a_thread(work, results))
            threads[0].join(1.0)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, hooked)
    return threads


@pytest.mark.django_db(transaction=True)
def test_r_l3_r_x4_two_clearing_runs_at_once_send_each_order_in_one_batch(monkeypatch):
    """`skarbiec settle` from cron while an operator runs it by hand: the second run,
    started while the first one's batch is not committed, must not put the same orders in a
    second file (clearing would pay them twice)."""
    _postgresql_only()
    cu = make_credit_union()
    member, source = member_with_account(cu, balance_minor=1000_00)
    for i in range(3):
        order = create_transfer_order(
            member, "web", source.pk, EXTERNAL, "Energa SA", 10_00, f"Bill {i}", key(), WEB
        )
        authorize_transfer(member, order.pk, last_code(member), WEB)
    real_record_event = clearing.record_event
    second: list = []
    threads: list[threading.Thread] = []

    def record_event_with_a_second_run(*args, **kwargs):
        # the first run, its orders marked SENT, not yet committed
        # Not from the thread it starts, whose call can come before the append.
        if not threads and threading.current_thread().name != MEANWHILE:
            threads.append(_on_a_thread(lambda: send_outgoing_batch(cu), second))
            threads[0].join(1.0)
        return real_record_event(*args, **kwargs)

    monkeypatch.setattr(clearing, "record_event", record_event_with_a_second_run)
    first = send_outgoing_batch(cu)
    threads[0].join(10)
    assert first is not None and first.order_count == 3
    assert second == [None], second
    assert OutgoingBatch.objects.count() == 1
    assert set(Order.objects.filter(kind="external").values_list("batch_id", flat=True)) == {
        first.pk
    }


@pytest.mark.django_db(transaction=True)
def test_r_l6_a_cancel_while_the_order_books_is_refused_not_reported_done(monkeypatch):
    """The member presses Cancel while the right code's booking runs: the order is booked, so
    the cancel must answer order_state_conflict, never "cancelled" for money that left."""
    _postgresql_only()
    cu = make_credit_union()
    payer, source, target, order = internal_transfer_awaiting_code(cu, 10_00, "cancel-1")
    code = last_code(payer)
    real_post = order_booking.post_transaction
    cancelled: list = []
    threads: list[threading.Thread] = []

    def post_with_a_cancel_meanwhile(*args, **kwargs):
        # the order read under its lock, not yet booked
        # Not from the thread it starts, whose call can come before the append.
        if not threads and threading.current_thread().name != MEANWHILE:
            threads.append(
                _on_a_thread(lambda: cancel_order(payer, order.pk, WEB).state, cancelled)
            )
            threads[0].join(1.0)
        return real_post(*args, **kwargs)

    monkeypatch.setattr(order_booking, "post_transaction", post_with_a_cancel_meanwhile)
    booked = authorize_transfer(payer, order.pk, code, WEB)
    threads[0].join(10)
    order.refresh_from_db()
    assert booked.state == order.state == Order.State.BOOKED
    assert cancelled == ["order_state_conflict"], cancelled
    assert not AuditEvent.objects.filter(event="order_cancelled").exists()
    assert balance(source) == 990_00 and balance(target) == 10_00
    assert ledger_problems() == []


@pytest.mark.django_db(transaction=True)
def test_r_o2_a_payee_renamed_while_its_code_is_accepted_keeps_the_name_the_sms_named(
    monkeypatch,
):
    """A saved payee waits for its trusting code; the member renames it in another tab while
    the code is being accepted. The trusted payee (transfers without codes) must carry the name
    the SMS named, never the new one no code confirmed (R-O2)."""
    _postgresql_only()
    cu = make_credit_union()
    member, _source = member_with_account(cu, balance_minor=1000_00)
    _other, account = member_with_account(cu, first_name="Anna", last_name="Nowak")
    saved = save_payee(member, "Anna Nowak", account.number, "", WEB)
    add_trusted_payee(member, "web", "Anna Nowak", account.number, WEB)
    code = last_code(member)
    real_awaits = payees.awaits_code
    main = threading.current_thread()
    calls: list[int] = []
    renamed: list = []
    threads: list[threading.Thread] = []

    def awaits_code_with_a_rename_meanwhile(payee):
        if threading.current_thread() is main:
            calls.append(1)
            if len(calls) == 2 and not threads:  # the check again, under the payee's lock
                threads.append(
                    _on_a_thread(
                        lambda: save_payee(member, "Jan Kowalski", account.number, "", WEB).name,
                        renamed,
                    )
                )
                threads[0].join(1.0)
        return real_awaits(payee)

    monkeypatch.setattr(payees, "awaits_code", awaits_code_with_a_rename_meanwhile)
    outcome: list = []
    try:
        outcome.append(confirm_trusted_payee(member, saved.pk, code, WEB).state)
    except DomainError as e:
        outcome.append(e.code)
    threads[0].join(10)
    payee = TrustedPayee.objects.get(pk=saved.pk)
    assert not (payee.state == TrustedPayee.State.ACTIVE and payee.name != "Anna Nowak"), (
        outcome,
        renamed,
        payee.name,
    )


@pytest.mark.django_db(transaction=True)
def test_r_l2_r_l6_a_booking_waiting_for_another_shows_the_balance_after_both(monkeypatch):
    """Two transfers from one account at once: each entry's `balance_after_minor` (the
    history's and the statement's running balance) is the balance after that entry, never
    one read before the other booking committed."""
    _postgresql_only()
    from skarbiec.ledger import booking
    from skarbiec.ledger.accounts import open_account
    from skarbiec.ledger.models import Account, LedgerEntry

    cu = make_credit_union()
    member, source = member_with_account(cu, balance_minor=1000_00)
    savings = open_account(member, Account.Kind.SAVINGS, WEB)
    real_write = booking.write_balanced
    second: list = []
    threads: list[threading.Thread] = []

    def write_with_a_second_booking(*args, **kwargs):
        # the first booking moved the balances, its entries not yet written
        # Not from the thread it starts, whose call can come before the append.
        if not threads and threading.current_thread().name != MEANWHILE:
            threads.append(
                _on_a_thread(
                    lambda: (
                        create_transfer_order(
                            member, "web", source.pk, savings.number, "", 30_00, "B", "bal-b", WEB
                        ).state
                    ),
                    second,
                )
            )
            threads[0].join(1.0)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(booking, "write_balanced", write_with_a_second_booking)
    first = create_transfer_order(
        member, "web", source.pk, savings.number, "", 10_00, "A", "bal-a", WEB
    )
    threads[0].join(10)
    assert (first.state, second) == ("booked", ["booked"])
    for account in (source, savings):
        running = 0
        for entry in LedgerEntry.objects.filter(account=account).order_by("pk"):
            running += entry.amount_minor
            assert entry.balance_after_minor == running, (account.number, entry.pk)
        assert balance(account) == running
    assert ledger_problems() == []


@pytest.mark.django_db(transaction=True)
def test_r_x7_two_orders_at_once_cannot_both_take_the_last_code_of_the_budget(
    monkeypatch, settings
):
    """One code left in the member's SMS budget, two SMS-confirmed orders at once: one gets
    the code, the other is refused (otp_rate_limited); never both (R-X7)."""
    _postgresql_only()
    from skarbiec.otp import operations
    from skarbiec.otp.models import SmsMessage

    settings.OTP_SEND_LIMIT = (2, 600)
    cu = make_credit_union()
    member, source = member_with_account(cu, balance_minor=1000_00)
    _payee, target = member_with_account(cu, first_name="Anna", last_name="Nowak")

    def order(i: int) -> str:
        return create_transfer_order(
            member, "web", source.pk, target.number, "Anna Nowak", 1_00, f"T{i}", f"b-{i}", WEB
        ).state

    assert order(0) == "awaiting_authorization"  # the first code of two
    real_queue = operations.queue_sms
    second: list = []
    threads: list[threading.Thread] = []

    def queue_with_a_second_order(*args, **kwargs):
        # the budget spent under the member's lock, the SMS not yet queued
        # Not from the thread it starts, whose call can come before the append.
        if not threads and threading.current_thread().name != MEANWHILE:
            threads.append(_on_a_thread(lambda: order(2), second))
            threads[0].join(1.0)
        return real_queue(*args, **kwargs)

    monkeypatch.setattr(operations, "queue_sms", queue_with_a_second_order)
    first = order(1)
    threads[0].join(10)
    assert sorted([first, *second]) == ["awaiting_authorization", "otp_rate_limited"], (
        first,
        second,
    )
    assert SmsMessage.objects.filter(member=member, give_up_at__isnull=False).count() == 2


@pytest.mark.django_db(transaction=True)
def test_r_x7_r_o4_a_cancel_while_wrong_codes_end_the_transfers_beside_does_not_deadlock(
    monkeypatch,
):
    """The third wrong code on one of two transfers waiting side by side ends both (R-X7,
    R-O4) while the member cancels the other: the settlement holds the member's codes and both
    operations and is about to lock the other order. A cancel that locked the order first and
    then its operation deadlocked with it (the database aborts one of the two); it waits for
    the member's codes instead and then finds the order already cancelled for wrong codes."""
    _postgresql_only()
    from skarbiec.ledger import order_authorization

    cu = make_credit_union()
    payer, source, target, other = internal_transfer_awaiting_code(cu, 10_00, "beside-1")
    guessed = create_transfer_order(
        payer, "web", source.pk, target.number, "Anna Nowak", 20_00, "Rent", "beside-2", WEB
    )
    bad = wrong_code(payer)
    for order in (other, guessed):
        with pytest.raises(DomainError):
            authorize_transfer(payer, order.pk, bad, WEB)
    cancelled: list = []
    # When the settlement holds the member's codes and both operations:
    threads = _meanwhile(
        monkeypatch,
        order_authorization,
        "lock_order",
        lambda: cancel_order(payer, other.pk, WEB).state,
        cancelled,
    )
    with pytest.raises(TransferCancelledAfterWrongCodes):
        authorize_transfer(payer, guessed.pk, bad, WEB)
    threads[0].join(10)
    assert cancelled == ["order_state_conflict"], cancelled
    for order in (other, guessed):
        order.refresh_from_db()
        assert (order.state, order.reject_reason) == (Order.State.CANCELLED, "wrong_codes")
    assert AuditEvent.objects.filter(event="order_cancelled").count() == 2
    assert AuditEvent.objects.filter(event="otp_failed").count() == 3
    assert balance(source) == 1000_00


def _app_deactivated(member) -> object:
    from skarbiec.channels.lifecycle import deactivate_mobile_channel

    deactivate_mobile_channel(member, WEB)
    return "deactivated"


def _app_reactivation_requested(member) -> object:
    from skarbiec.channels.mobile.app_password import request_mobile_app_reactivation

    request_mobile_app_reactivation(member, "Nowe#Haslo2025", "Nowe#Haslo2025", WEB)
    return "requested"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("flow", [_app_deactivated, _app_reactivation_requested])
def test_r_x7_r_o4_the_app_changed_while_a_third_wrong_code_blocks_it_does_not_deadlock(
    monkeypatch, flow
):
    """The app is deactivated, or its new password asked for in the web, while the third wrong
    code of a transfer in the app is settled: the settlement holds the member's codes and the
    operation and is about to block the app (R-O4, R-X7). A flow that locked the app's channel
    and then the member or its operations deadlocked with it (the settlement is tried once
    here); it waits for the member's codes instead, then does its work."""
    _postgresql_only()
    from skarbiec.channels import access
    from skarbiec.channels.mobile.app_password import (
        confirm_mobile_channel_activation,
        request_mobile_channel_activation,
    )
    from skarbiec.core import attempts
    from skarbiec.ledger.errors import AppBlockedAfterWrongCodes

    monkeypatch.setattr(attempts, "SETTLEMENT_TRIES", 1)
    cu = make_credit_union()
    payer, source = member_with_account(cu, balance_minor=1000_00)
    _payee, target = member_with_account(cu, first_name="Anna", last_name="Nowak")
    otp_id = request_mobile_channel_activation(payer, "Mobi#2024ab", "Mobi#2024ab", WEB)
    confirm_mobile_channel_activation(payer, otp_id, last_code(payer), WEB)
    order = create_transfer_order(
        payer, "mobile", source.pk, target.number, "Anna Nowak", 10_00, "Rent", "app-1", MOBILE
    )
    bad = wrong_code(payer)
    for _ in range(2):
        with pytest.raises(DomainError):
            authorize_transfer(payer, order.pk, bad, MOBILE)
    done: list = []
    # When the settlement holds the member's codes and the operation:
    threads = _meanwhile(monkeypatch, access, "block_mobile_channel", lambda: flow(payer), done)
    with pytest.raises(AppBlockedAfterWrongCodes):
        authorize_transfer(payer, order.pk, bad, MOBILE)
    threads[0].join(10)
    assert done in (["deactivated"], ["requested"]), done
    order.refresh_from_db()
    assert (order.state, order.reject_reason) == (Order.State.REJECTED, "wrong_codes")
    assert balance(source) == 1000_00


@pytest.mark.django_db(transaction=True)
def test_r_x7_r_l4_new_limits_asked_for_while_a_third_wrong_code_voids_the_raise_no_deadlock(
    monkeypatch,
):
    """A raise of limits waits for its code; the member asks for other limits in another tab
    while the raise's third wrong code is settled. The settlement holds the member's codes and
    is about to void the raise; asking for limits voided it first and then started a code (the
    member's codes): a deadlock (the settlement is tried once here). It takes the member's
    codes first instead, and finds the raise already voided."""
    _postgresql_only()
    from skarbiec.core import attempts
    from skarbiec.ledger.limits import change_limits, confirm_limit_change
    from skarbiec.ledger.models import LimitChange
    from skarbiec.otp import operations

    monkeypatch.setattr(attempts, "SETTLEMENT_TRIES", 1)
    member, _source = member_with_account(make_credit_union(), balance_minor=0)
    change_limits(member, "web", 100_00, 300_00, 1000_00, WEB)
    raise_ = change_limits(member, "web", 200_00, 300_00, 1000_00, WEB)
    bad = wrong_code(member)
    for _ in range(2):
        with pytest.raises(DomainError):
            confirm_limit_change(member, raise_.pk, bad, WEB)
    asked: list = []
    # When the settlement holds the member's codes and the raise's operation:
    threads = _meanwhile(
        monkeypatch,
        operations,
        "close_the_others_waiting",
        lambda: change_limits(member, "web", 150_00, 300_00, 1000_00, WEB).state,
        asked,
    )
    with pytest.raises(DomainError):
        confirm_limit_change(member, raise_.pk, bad, WEB)
    threads[0].join(10)
    assert asked == [LimitChange.State.PENDING], asked
    raise_.refresh_from_db()
    assert raise_.state == LimitChange.State.VOIDED


@pytest.mark.django_db(transaction=True)
def test_r_l4_the_old_limits_sent_again_while_a_lowering_commits_need_a_code(monkeypatch):
    """The member lowers the app's limits in the web (a lost phone); at the same moment the
    app sends its limits as they were. Judged against a reading from before the lowering,
    the old limits were no raise and were applied at once: the lowering undone without a
    code. Judged under the lock, they are a raise and wait for the member's SMS code."""
    _postgresql_only()
    from skarbiec.ledger import limits
    from skarbiec.ledger.models import LimitChange, MemberLimits

    member, _source = member_with_account(make_credit_union(), balance_minor=0)
    old = limits.member_limits(member, "mobile")
    before = (old.per_transaction_minor, old.daily_minor, old.monthly_minor)
    lowered: list = []
    threads = _meanwhile(
        monkeypatch,
        limits,
        "lock_members_codes",
        lambda: limits.change_limits(member, "mobile", 1_00, 2_00, 3_00, WEB).state,
        lowered,
    )
    again = limits.change_limits(member, "mobile", *before, MOBILE)
    threads[0].join(10)
    assert lowered == [LimitChange.State.APPLIED], lowered
    assert again.state == LimitChange.State.PENDING and again.otp_id is not None
    now = MemberLimits.objects.get(member=member, channel="mobile")
    assert (now.per_transaction_minor, now.daily_minor, now.monthly_minor) == (1_00, 2_00, 3_00)
