"""R-L2, R-L3, R-L6 property: any sequence of valid and invalid orders keeps every balance equal
to its entries, each credit union's total at zero, no member account below zero, and the
member balances equal to a simple model of what should have happened."""

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from skarbiec.channels.errors import WebChannelBlocked
from skarbiec.channels.web.login import begin_web_login, complete_web_login
from skarbiec.core.errors import DomainError
from skarbiec.ledger.accounts import deposit_cash, open_account
from skarbiec.ledger.clearing import send_outgoing_batch, settle_sent_orders
from skarbiec.ledger.errors import InsufficientFunds
from skarbiec.ledger.integrity import ledger_problems
from skarbiec.ledger.models import Account, Order
from skarbiec.ledger.order_authorization import authorize_transfer
from skarbiec.ledger.orders import create_transfer_order
from skarbiec.otp.errors import OtpAttemptsExhausted, OtpInvalid
from tests.factories import make_credit_union
from tests.ledger.helpers import EXTERNAL, WEB, key, last_code, member_with_account, wrong_code

amounts = st.one_of(st.integers(1, 300_00), st.integers(300_00, 2_000_00))
who = st.integers(0, 1)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("deposit"), who, amounts),
        st.tuples(st.just("own"), who, amounts),
        st.tuples(st.just("internal"), who, amounts, st.sampled_from(["right", "wrong", "none"])),
        st.tuples(st.just("external"), who, amounts),
        st.tuples(st.just("settle"), st.booleans()),
        st.tuples(st.just("invalid"), who, st.sampled_from(["checksum", "zero", "same", "float"])),
        st.tuples(st.just("replay"), who),
    ),
    max_size=14,
)


# Real transactions: the attempts mechanism commits each counted code in a durable transaction
# of its own (R-X6), which no test wrapper may roll back. Each example builds its own credit
# union, so examples do not see each other's orders.
@pytest.mark.django_db(transaction=True)
@settings(
    max_examples=30,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(ops=[("deposit", 0, 10_000_00)] + [("internal", 0, 1_00, "wrong")] * 12)
@given(ops=operations)
def test_r_l2_r_l6_any_order_sequence_keeps_the_ledger_balanced(ops):
    _run(ops)


def _run(ops) -> None:
    cu = make_credit_union()
    people = []
    for i in range(2):
        member, current = member_with_account(cu, first_name=f"P{i}")
        savings = open_account(member, Account.Kind.SAVINGS, WEB)
        people.append((member, current, savings))
    expected = {acc.pk: 0 for _m, c, s in people for acc in (c, s)}
    in_flight: list[tuple[int, int]] = []  # (account, amount) sent to clearing
    last_request: dict[int, tuple] = {}

    def order(i, source, payee, amount, name="Payee", k=None):
        member = people[i][0]
        args = (member, "web", source, payee, name, amount, "Title", k or key(), WEB)
        last_request[i] = args
        return create_transfer_order(*args)

    for op in ops:
        kind = op[0]
        if kind == "deposit":
            _i, amount = op[1], op[2]
            deposit_cash(people[_i][1], amount, WEB)
            expected[people[_i][1].pk] += amount
        elif kind == "own":
            _i, amount = op[1], op[2]
            member, current, savings = people[_i]
            try:
                o = order(_i, current, savings.number, amount, name="")
                assert o.state == Order.State.BOOKED
                expected[current.pk] -= amount
                expected[savings.pk] += amount
            except InsufficientFunds:
                assert expected[current.pk] < amount
        elif kind == "internal":
            _i, amount, auth = op[1], op[2], op[3]
            member, current, _s = people[_i]
            target = people[1 - _i][1]
            o = order(_i, current, target.number, amount)
            assert o.state == Order.State.AWAITING_AUTHORIZATION
            if auth == "right":
                try:
                    authorize_transfer(member, o.pk, last_code(member), WEB)
                    expected[current.pk] -= amount
                    expected[target.pk] += amount
                except InsufficientFunds:
                    assert expected[current.pk] < amount
            elif auth == "wrong":
                bad = wrong_code(member)
                for _ in range(3):
                    with pytest.raises((OtpInvalid, OtpAttemptsExhausted, WebChannelBlocked)):
                        authorize_transfer(member, o.pk, bad, WEB)
                # The cancelled order counted toward the web lockout (R-O4); the member logs in
                # again, which resets the count, so the sequence can go on.
                pending = begin_web_login(member.login, "Start#2024pl", WEB)
                complete_web_login(pending, last_code(member), WEB)
        elif kind == "external":
            _i, amount = op[1], op[2]
            member, current, _s = people[_i]
            o = order(_i, current, EXTERNAL, amount, name="Energa")
            try:
                o = authorize_transfer(member, o.pk, last_code(member), WEB)
                assert o.state == Order.State.PENDING
                expected[current.pk] -= amount
                in_flight.append((current.pk, amount))
            except InsufficientFunds:
                assert expected[current.pk] < amount
        elif kind == "settle":
            reject_all = op[1]
            send_outgoing_batch(cu)
            sent = Order.objects.filter(member__credit_union=cu, state=Order.State.SENT)
            rejections = {o.pk: "test" for o in sent} if reject_all else {}
            settle_sent_orders(rejections)
            if reject_all:
                for account_id, amount in in_flight:
                    expected[account_id] += amount
            in_flight.clear()
        elif kind == "invalid":
            _i, how = op[1], op[2]
            current = people[_i][1]
            payee = people[1 - _i][1].number
            before = Order.objects.count()
            with pytest.raises(DomainError):
                if how == "checksum":
                    order(_i, current, payee[:-1] + str((int(payee[-1]) + 1) % 10), 1_00)
                elif how == "zero":
                    order(_i, current, payee, 0)
                elif how == "same":
                    order(_i, current, current.number, 1_00)
                else:
                    order(_i, current, payee, 1.5)
            assert Order.objects.count() == before
        elif kind == "replay":
            _i = op[1]
            if _i in last_request:
                args = last_request[_i]
                first = Order.objects.filter(member=args[0], idempotency_key=args[7]).first()
                try:
                    again = create_transfer_order(*args)
                    if first is not None:
                        assert again.pk == first.pk  # nothing booked twice
                    elif again.state == Order.State.BOOKED:
                        # The first attempt was refused and stored nothing: this one is new.
                        expected[again.from_account_id] -= again.amount_minor
                        expected[again.to_account_id] += again.amount_minor
                except InsufficientFunds:
                    assert first is None
                except DomainError as e:
                    assert e.code in ("invalid_amount", "invalid_account_number", "same_account")

        assert ledger_problems() == []
        for pk, amount in expected.items():
            acc = Account.objects.get(pk=pk)
            assert acc.booked_minor == acc.available_minor == amount >= 0
