"""Row locks of the web login and the web password that the mutation audit found untested
(R-W1, R-W2, R-B3, R-X4), on PostgreSQL: each test makes a second request run while the first
holds the web channel's row lock (SQLite queues writers, so nothing ever runs inside another's
transaction there).

As in tests/ledger/test_race_gaps.py, the second request runs for up to two seconds inside the
first one's transaction: with the lock it waits and then finds the first one's result; without
it, it runs to its end and the first one then writes what it read before over it."""

import re
import threading

import pytest
from django.db import connection

from skarbiec.channels.lifecycle import (
    block_web_channel_on_request,
    lift_web_block_on_request,
    unblock_web_channel,
)
from skarbiec.channels.models import PendingWebPasswordChange, WebChannel
from skarbiec.channels.web import login, password
from skarbiec.channels.web.login import begin_web_login, complete_web_login
from skarbiec.channels.web.password import (
    confirm_web_password_change,
    request_web_password_change,
    set_own_web_password,
)
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError
from skarbiec.members.models import Member
from skarbiec.otp.models import Confirmation, SmsMessage
from skarbiec.otp.sms import decrypt_body
from tests.factories import CLI, make_member, password_matches
from tests.ledger.helpers import last_code, wrong_code

CTX = RequestContext(ip_address="10.7.7.9", channel="web")
PASSWORD = "Start#2024pl"
NEW = "Nowe#Haslo2025x"


@pytest.fixture(autouse=True)
def _generous_rate_limits(settings):
    settings.RATE_LIMIT_PER_ADDRESS = (1000, 60)
    settings.RATE_LIMIT_PER_LOGIN = (1000, 60)
    settings.OTP_SEND_LIMIT = (1000, 600)


def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no request runs inside another's")


def _outcome(work) -> object:
    try:
        return work()
    except DomainError as e:
        return e.code


def _on_a_thread(work, results: list) -> threading.Thread:
    def run() -> None:
        try:
            results.append(_outcome(work))
        except Exception as e:  # noqa: BLE001 - a crash must fail the test, visibly
            results.append(f"crash:{type(e).__name__}:{e}")
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _meanwhile(monkeypatch, module, name: str, work, results: list, call: int = 1) -> list:
    """`work` on another connection at the `call`-th call of `module.name` on this thread,
    given two seconds to finish before that call goes on."""
    real = getattr(module, name)
    main = threading.current_thread()
    calls: list[int] = []
    threads: list[threading.Thread] = []

    def hooked(*args, **kwargs):
        if threading.current_thread() is main:
            calls.append(1)
            if len(calls) == call and not threads:
                threads.append(_on_a_thread(work, results))
                threads[0].join(2.0)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, hooked)
    return threads


def _join(threads: list[threading.Thread]) -> None:
    assert threads, "the second request never ran"
    threads[0].join(15)
    assert not threads[0].is_alive()


def _channel(member: Member) -> WebChannel:
    return WebChannel.objects.get(member=member)


@pytest.mark.django_db(transaction=True)
def test_r_w2_r_x4_a_third_wrong_password_while_a_login_completes_is_counted_or_refuses_it(
    monkeypatch,
):
    """A login's SMS code is accepted while another browser enters the third wrong password in
    a row. Either the login completes first (its success starts the count again, the wrong
    password is the first of a new count) or the block comes first (the login is refused):
    never a completed login and a block it then hides by clearing the count to 0."""
    _postgresql_only()
    member = make_member()
    pending = begin_web_login(member.login, PASSWORD, CTX)
    code = last_code(member)
    for _ in range(2):
        assert _outcome(lambda: begin_web_login(member.login, "Wrong#pass1", CTX)) == (
            "wrong_credentials"
        )
    third: list = []
    threads = _meanwhile(
        monkeypatch,
        login,
        "_require_login_current",
        lambda: begin_web_login(member.login, "Wrong#pass1", CTX),
        third,
        call=2,  # the check again, under the channel's lock
    )
    first = _outcome(lambda: complete_web_login(pending, code, CTX))
    _join(threads)
    monkeypatch.undo()
    channel = _channel(member)
    outcome = (
        "logged_in" if isinstance(first, Member) else first,
        third,
        channel.state,
        channel.failed_attempts,
    )
    assert outcome in (
        ("logged_in", ["wrong_credentials"], WebChannel.State.ACTIVE, 1),
        ("channel_blocked", ["channel_blocked"], WebChannel.State.BLOCKED, 3),
    ), outcome


@pytest.mark.django_db(transaction=True)
def test_r_b3_r_w1_a_block_while_the_temporary_password_is_replaced_ends_that_session_too(
    monkeypatch,
):
    """The member sets their own password at first login while the helpline blocks the channel
    on their request: the block ends every web session, the one carrying on with the new
    password included, so lifting the block later brings none of them back."""
    _postgresql_only()
    member = make_member(must_change_password="yes")
    blocked: list = []
    threads = _meanwhile(
        monkeypatch,
        password,
        "_replace_web_password",
        lambda: block_web_channel_on_request(member, CLI),
        blocked,
    )
    generation = set_own_web_password(member, NEW, NEW, _channel(member).session_generation, CTX)
    _join(threads)
    monkeypatch.undo()
    assert blocked == [True], blocked
    lift_web_block_on_request(member, CLI)
    channel = _channel(member)
    assert channel.state == WebChannel.State.ACTIVE
    assert generation != channel.session_generation, (generation, channel.session_generation)


@pytest.mark.django_db(transaction=True)
def test_r_b3_r_w1_a_block_while_a_password_change_is_confirmed_ends_that_session_too(
    monkeypatch,
):
    """As above for the change in Settings: the code accepted, the helpline blocks the channel
    while the new password is written; the session that changed it ends with the block."""
    _postgresql_only()
    member = make_member()
    otp_id = request_web_password_change(member, PASSWORD, NEW, NEW, CTX)
    code = last_code(member)
    blocked: list = []
    threads = _meanwhile(
        monkeypatch,
        password,
        "_replace_web_password",
        lambda: block_web_channel_on_request(member, CLI),
        blocked,
    )
    generation = confirm_web_password_change(
        member, otp_id, code, _channel(member).session_generation, CTX
    )
    _join(threads)
    monkeypatch.undo()
    assert blocked == [True], blocked
    lift_web_block_on_request(member, CLI)
    channel = _channel(member)
    assert channel.state == WebChannel.State.ACTIVE
    assert generation != channel.session_generation, (generation, channel.session_generation)


@pytest.mark.django_db(transaction=True)
def test_r_w2_r_b3_a_password_change_requested_as_staff_reset_the_password_does_not_outlive_it(
    monkeypatch,
):
    """The member asks for a password change while the channel is blocked and staff unblock it
    with a new temporary password (R-W2, R-B3): the unblock voids the web's open operations,
    so the change's code, whenever it was requested, never replaces the temporary password."""
    _postgresql_only()
    member = make_member()
    session = _channel(member).session_generation  # the member's session, before it all
    reset: list = []

    def block_and_unblock() -> str:
        block_web_channel_on_request(member, CLI)
        return unblock_web_channel(member, CLI)

    threads = _meanwhile(monkeypatch, password, "start_confirmation", block_and_unblock, reset)
    requested = _outcome(lambda: request_web_password_change(member, PASSWORD, NEW, NEW, CTX))
    _join(threads)
    monkeypatch.undo()
    assert len(reset) == 1 and not str(reset[0]).startswith("crash"), reset
    confirmed = None
    if isinstance(requested, int):  # requested before the block: the code SMS went out
        sms = SmsMessage.objects.get(confirmation_id=requested)
        code = re.search(r"\b(\d{6})\b", decrypt_body(sms.body_encrypted)).group(1)
        confirmed = _outcome(
            lambda: confirm_web_password_change(member, requested, code, session, CTX)
        )
    member.refresh_from_db()
    assert password_matches(member.web_password_hash, reset[0]), (requested, confirmed)
    assert member.must_change_password and not password_matches(member.web_password_hash, NEW)
    if isinstance(requested, int):  # the unblock voided it
        assert Confirmation.objects.get(pk=requested).state == Confirmation.State.VOIDED


@pytest.mark.django_db(transaction=True)
def test_r_w1_a_new_password_change_requested_while_the_last_one_is_confirmed_is_kept(
    monkeypatch,
):
    """Two tabs: the code of a password change is accepted while the member asks for another
    change. Either the first applies and the second waits for its own code, or the first is
    overtaken: never the second request (its code sent) silently deleted, never an error."""
    _postgresql_only()
    member = make_member()
    otp_id = request_web_password_change(member, PASSWORD, NEW, NEW, CTX)
    code = last_code(member)
    session = _channel(member).session_generation
    second: list = []
    # The change read, its locks next:
    threads = _meanwhile(
        monkeypatch,
        password,
        "lock_member_and_web_channel",
        lambda: request_web_password_change(
            member, PASSWORD, "Trzecie#Haslo26", "Trzecie#Haslo26", CTX
        ),
        second,
    )
    first = _outcome(lambda: confirm_web_password_change(member, otp_id, code, session, CTX))
    _join(threads)
    monkeypatch.undo()
    assert len(second) == 1 and not str(second[0]).startswith("crash"), (first, second)
    assert not str(first).startswith("crash"), (first, second)
    if isinstance(second[0], int):  # the second request's code was sent: it must be kept
        assert PendingWebPasswordChange.objects.filter(member=member, otp_id=second[0]).exists(), (
            first,
            second,
        )


def _renewal(member: Member) -> object:
    from skarbiec.channels.lifecycle import renew_temporary_password

    return renew_temporary_password(member, CLI)


def _own_password(member: Member) -> object:
    return set_own_web_password(member, NEW, NEW, _channel(member).session_generation, CTX)


def _change_requested(member: Member) -> object:
    return request_web_password_change(member, PASSWORD, NEW, NEW, CTX)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("flow", [_renewal, _own_password, _change_requested])
def test_r_x7_r_b3_a_password_flow_while_the_third_wrong_code_settles_does_not_deadlock(
    monkeypatch, flow
):
    """The helpline renews a temporary password, or the member sets or changes theirs in
    another tab, while their third wrong login code is settled: the settlement holds the
    member's codes and is about to count the failure on the web channel (R-O4, R-X7). A flow
    that locked the channel and then the member deadlocked with it (the database aborts one of
    the two: the settlement, tried once here, or the other request); it waits for the member's
    codes instead, then does its work."""
    _postgresql_only()
    from skarbiec.channels import lifecycle
    from skarbiec.core import attempts

    monkeypatch.setattr(attempts, "SETTLEMENT_TRIES", 1)
    member = make_member(must_change_password="yes" if flow is not _change_requested else "")
    pending = begin_web_login(member.login, PASSWORD, CTX)
    bad = wrong_code(member)
    for _ in range(2):
        assert _outcome(lambda: complete_web_login(pending, bad, CTX)) == "otp_invalid"
    done: list = []
    threads = _meanwhile(
        monkeypatch, lifecycle, "count_web_failure", lambda: flow(member) is not None, done
    )
    third = _outcome(lambda: complete_web_login(pending, bad, CTX))
    _join(threads)
    monkeypatch.undo()
    assert (third, done) == ("otp_attempts_exhausted", [True]), (third, done)
    assert Confirmation.objects.get(pk=pending.otp_id).state == Confirmation.State.EXHAUSTED
    assert _channel(member).state == WebChannel.State.ACTIVE


@pytest.mark.django_db(transaction=True)
def test_r_x7_r_o1_a_change_confirmed_while_a_third_wrong_code_settles_does_not_deadlock(
    monkeypatch,
):
    """The member confirms a password change in one tab while the third wrong code of a
    transfer is entered in another: the change holds the web channel when the settlement,
    holding the member's codes, comes to count the failure on it (R-O4, R-X7). A change that
    locked the channel before the member deadlocked with it (the settlement is tried once
    here); it takes the member's codes first, and the settlement waits for it."""
    _postgresql_only()
    from skarbiec.core import attempts
    from skarbiec.ledger.models import Order
    from skarbiec.ledger.order_authorization import authorize_transfer
    from tests.factories import make_credit_union
    from tests.ledger.helpers import WEB, internal_transfer_awaiting_code

    monkeypatch.setattr(attempts, "SETTLEMENT_TRIES", 1)
    payer, _source, _target, order = internal_transfer_awaiting_code(
        make_credit_union(), 10_00, "pw-1"
    )
    bad = wrong_code(payer)
    for _ in range(2):
        assert _outcome(lambda: authorize_transfer(payer, order.pk, bad, WEB)) == "otp_invalid"
    otp_id = request_web_password_change(payer, PASSWORD, NEW, NEW, CTX)
    code = last_code(payer)
    third: list = []
    threads = _meanwhile(
        monkeypatch,
        password,
        "require_session_current",
        lambda: authorize_transfer(payer, order.pk, bad, WEB),
        third,
    )
    generation = _channel(payer).session_generation
    changed = _outcome(lambda: confirm_web_password_change(payer, otp_id, code, generation, CTX))
    _join(threads)
    monkeypatch.undo()
    assert isinstance(changed, int) and third == ["otp_attempts_exhausted"], (changed, third)
    order.refresh_from_db()
    assert (order.state, order.reject_reason) == (Order.State.CANCELLED, "wrong_codes")
    payer.refresh_from_db()
    assert password_matches(payer.web_password_hash, NEW)
