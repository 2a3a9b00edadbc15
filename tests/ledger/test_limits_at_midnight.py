"""Daily limits at Warsaw midnight (R-L4): an order counts on the day its limits were checked,
however long it waited for another order of the member."""

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import close_old_connections, connection, transaction

from skarbiec.core import clock
from skarbiec.ledger import order_booking
from skarbiec.ledger.limits import change_limits
from skarbiec.ledger.models import Account, MemberLimits, Order
from skarbiec.ledger.order_authorization import authorize_transfer
from skarbiec.ledger.orders import create_transfer_order
from skarbiec.ledger.payees import add_trusted_payee, confirm_trusted_payee
from skarbiec.members.models import Member
from tests.factories import make_credit_union
from tests.ledger.helpers import WEB, key, last_code, member_with_account

WARSAW = ZoneInfo("Europe/Warsaw")
DAILY = 250_00


def warsaw(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=WARSAW).astimezone(UTC)  # type: ignore[misc]


class FrozenClock:
    def __init__(self) -> None:
        self.now = warsaw(2027, 1, 19, 12, 0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Iterator[FrozenClock]:
    frozen_clock = FrozenClock()
    monkeypatch.setattr(clock, "now", frozen_clock)
    yield frozen_clock


def _day_full_but_one_order_waiting(frozen: FrozenClock) -> tuple[Member, Order]:
    """At 23:59:00 an order of 200 zł waits for its code (it fits the day then); at 23:59:30 a
    transfer of 250 zł to a trusted payee fills the day."""
    cu = make_credit_union()
    member, source = member_with_account(cu, balance_minor=10_000_00)
    _anna, trusted = member_with_account(cu, first_name="Anna")
    _ewa, other = member_with_account(cu, first_name="Ewa")
    payee = add_trusted_payee(member, "web", "Anna Nowak", trusted.number, WEB)
    confirm_trusted_payee(member, payee.pk, last_code(member), WEB)
    change_limits(member, "web", DAILY, DAILY, 10_000_00, WEB)

    def pay(to: Account, amount: int) -> Order:
        return create_transfer_order(
            member, "web", source, to.number, "Anna Nowak", amount, "Gift", key(), WEB
        )

    frozen.now = warsaw(2027, 1, 20, 23, 59, 0)
    waiting = pay(other, 200_00)
    assert waiting.state == Order.State.AWAITING_AUTHORIZATION
    frozen.now = warsaw(2027, 1, 20, 23, 59, 30)
    assert pay(trusted, DAILY).state == Order.State.BOOKED
    return member, waiting


def _counted_on_the_20th(member: Member) -> int:
    orders = Order.objects.filter(
        member=member,
        state__in=Order.COUNTED_STATES,
        authorized_at__gte=warsaw(2027, 1, 20),
        authorized_at__lt=warsaw(2027, 1, 21),
    ).exclude(kind=Order.Kind.OWN)
    return sum(o.amount_minor for o in orders)


def _confirm(member: Member, order: Order) -> str:
    try:
        return authorize_transfer(member, order.pk, last_code(member), WEB).state
    except Exception as e:  # noqa: BLE001 - the refusal's code is the outcome
        return getattr(e, "code", repr(e))


@pytest.mark.django_db
def test_r_l4_an_order_checked_after_midnight_counts_on_the_new_day(
    frozen: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Confirmed at 23:59:59.8, its limits checked at 00:00:00.2 after waiting for the
    member's limits (another order held them): it is the new day's, not a second 200 zł on a
    full day."""
    member, waiting = _day_full_but_one_order_waiting(frozen)
    checked: Callable[..., datetime] = order_booking.check_limits

    def checked_after_a_wait(*args: object, **kwargs: object) -> datetime:
        frozen.now += timedelta(milliseconds=400)
        return checked(*args, **kwargs)

    monkeypatch.setattr(order_booking, "check_limits", checked_after_a_wait)
    frozen.now = warsaw(2027, 1, 20, 23, 59, 59, 800000)
    assert _confirm(member, waiting) == Order.State.BOOKED
    waiting.refresh_from_db()
    assert waiting.authorized_at == warsaw(2027, 1, 21, 0, 0, 0, 200000)
    assert _counted_on_the_20th(member) == DAILY


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_r_l4_an_order_waiting_for_the_members_limits_past_midnight_counts_on_the_new_day(
    frozen: FrozenClock,
) -> None:
    """The same with a real wait: another transaction holds the member's limits row while the
    clock passes midnight."""
    member, waiting = _day_full_but_one_order_waiting(frozen)
    locked = threading.Event()

    def hold_the_limits() -> None:
        try:
            with transaction.atomic():
                MemberLimits.objects.select_for_update().filter(member=member, channel="web").get()
                locked.set()
                time.sleep(1.0)
                frozen.now = warsaw(2027, 1, 21, 0, 0, 0, 300000)
        finally:
            connection.close()

    frozen.now = warsaw(2027, 1, 20, 23, 59, 59, 800000)
    holder = threading.Thread(target=hold_the_limits)
    holder.start()
    assert locked.wait(10)
    outcome = _confirm(member, waiting)
    holder.join()
    close_old_connections()
    assert outcome == Order.State.BOOKED
    assert _counted_on_the_20th(member) == DAILY
