"""A wrong attempt settled while another one is counted, compared and settled (R-X4, R-X6,
R-X7, R-T3), on PostgreSQL: the settlement writes the count it read, so it must hold the
counter row's lock from that read to its commit. The other tests' attempts in flight are
nested (each runs to its end before the first one settles) and their parallel ones rarely
settle at the same instant: neither sees a lock dropped from `Counter.lock`.

While the first wrong attempt's settlement holds the row (its `lock()` returned), a second
wrong attempt runs on another connection for up to a second: with the lock it waits and
then counts on top; without it, it counts and settles first, and the first settlement then
writes back the count it read before, losing the second failure."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.db import connection

from skarbiec.channels.models import WebChannel
from skarbiec.channels.web.login import WebPasswordCounter, begin_web_login
from skarbiec.core import attempts
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError
from skarbiec.core.models import RateLimitCounter
from skarbiec.core.throttling import UnknownLoginCounter, rate_limit_key
from skarbiec.ledger.models import Order
from skarbiec.ledger.order_authorization import authorize_transfer
from skarbiec.otp.models import Confirmation
from skarbiec.otp.operations import ConfirmationCounter
from tests.factories import make_credit_union, make_member
from tests.ledger.helpers import (
    WEB,
    internal_transfer_awaiting_code,
    wrong_code,
)

CTX = RequestContext(ip_address="10.7.7.8", channel="web")


@pytest.fixture(autouse=True)
def _generous_rate_limits(settings):
    settings.RATE_LIMIT_PER_ADDRESS = (1000, 60)
    settings.RATE_LIMIT_PER_LOGIN = (1000, 60)


def _outcome(fn: Callable[[], object]) -> str:
    try:
        fn()
    except DomainError as e:
        return e.code
    return "accepted"


@contextmanager
def another_attempt_while_settling(
    monkeypatch: pytest.MonkeyPatch, counter_cls: type, attempt: Callable[[], object]
) -> Iterator[list[str]]:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no settlement runs inside another")
    settling = threading.local()
    original_settle = attempts._settled_as_wrong
    original_lock = counter_cls.lock
    outcomes: list[str] = []
    threads: list[threading.Thread] = []

    def settled_as_wrong(counter):  # type: ignore[no-untyped-def]
        settling.now = True
        try:
            return original_settle(counter)
        finally:
            settling.now = False

    def run() -> None:
        try:
            outcomes.append(_outcome(attempt))
        finally:
            connection.close()

    def lock(self):  # type: ignore[no-untyped-def]
        row = original_lock(self)
        if getattr(settling, "now", False) and not threads:
            threads.append(threading.Thread(target=run))
            threads[0].start()
            threads[0].join(1.0)
        return row

    monkeypatch.setattr(attempts, "_settled_as_wrong", settled_as_wrong)
    monkeypatch.setattr(counter_cls, "lock", lock)
    try:
        yield outcomes
    finally:
        for thread in threads:
            thread.join(10)
        monkeypatch.undo()


@pytest.mark.django_db(transaction=True)
def test_r_x4_r_w2_two_wrong_passwords_settling_together_count_two(monkeypatch):
    member = make_member()
    wrong = lambda: begin_web_login(member.login, "Wrong#pass1", CTX)  # noqa: E731
    with another_attempt_while_settling(monkeypatch, WebPasswordCounter, wrong) as other:
        first = _outcome(wrong)
    assert (first, other) == ("wrong_credentials", ["wrong_credentials"])
    channel = WebChannel.objects.get(member=member)
    assert (channel.failed_attempts, channel.failed_attempts_in_flight) == (2, 0)
    assert _outcome(wrong) == "channel_blocked"  # the third wrong password (limit 3)


@pytest.mark.django_db(transaction=True)
def test_r_x7_two_wrong_codes_settling_together_count_two(monkeypatch):
    cu = make_credit_union()
    payer, _source, _target, order = internal_transfer_awaiting_code(cu, 10_00, "s-1")
    bad = wrong_code(payer)
    wrong = lambda: authorize_transfer(payer, order.pk, bad, WEB)  # noqa: E731
    with another_attempt_while_settling(monkeypatch, ConfirmationCounter, wrong) as other:
        first = _outcome(wrong)
    assert (first, other) == ("otp_invalid", ["otp_invalid"])
    confirmation = Confirmation.objects.get(pk=order.otp_id)
    assert (confirmation.failed_codes, confirmation.failed_codes_in_flight) == (2, 0)
    assert _outcome(wrong) != "otp_invalid"  # the third wrong code ends the order
    order.refresh_from_db()
    assert order.state != Order.State.AWAITING_AUTHORIZATION


@pytest.mark.django_db(transaction=True)
def test_r_t3_two_wrong_passwords_of_an_unknown_login_settling_together_count_two(monkeypatch):
    make_credit_union()
    login = "9999999999"
    wrong = lambda: begin_web_login(login, "Wrong#pass1", CTX)  # noqa: E731
    with another_attempt_while_settling(monkeypatch, UnknownLoginCounter, wrong) as other:
        first = _outcome(wrong)
    assert (first, other) == ("wrong_credentials", ["wrong_credentials"])
    row = RateLimitCounter.objects.get(key=rate_limit_key("unknown-login", login), window_start=0)
    assert (row.count, row.count_in_flight) == (2, 0)
    assert _outcome(wrong) == "channel_blocked"  # as a real Login's third wrong password
