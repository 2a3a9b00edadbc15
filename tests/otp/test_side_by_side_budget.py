"""R-X7, R-X6, R-O4: operations of one kind waiting side by side in a channel (transfers) have
one budget of three wrong codes, however the codes arrive: at once, spread over the
operations, or one after another. An outside tester sent wrong codes at once to several
waiting transfers: each let three be compared, settlements deadlocked (503) and left codes in
flight, to be given back two minutes later."""

import threading

import pytest
from django.db import connection

from skarbiec.audit.models import AuditEvent
from skarbiec.channels.models import WebChannel
from skarbiec.core import attempts
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import AttemptsBeingChecked
from skarbiec.otp.errors import OtpAttemptsExhausted, OtpExpired, OtpInvalid
from skarbiec.otp.models import Confirmation
from skarbiec.otp.operations import confirm_code, start_confirmation
from tests.factories import make_member
from tests.otp.kinds import SEEN_CODES, SIDE_BY_SIDE_OPERATION

CTX = RequestContext(ip_address="10.2.2.3", channel="web")
DETAILS = {"text": "Przelew: kod {code}", "amount_minor": 1000}
ANSWERS = (OtpInvalid, OtpAttemptsExhausted, AttemptsBeingChecked, OtpExpired)


def _waiting(member, count):
    ops = []
    for i in range(count):
        ops.append(
            start_confirmation(
                SIDE_BY_SIDE_OPERATION,
                member,
                details=DETAILS,
                channel="web",
                ctx=CTX,
                subject=str(i),
            )
        )
    codes = set(SEEN_CODES[-count:])
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in codes)
    return ops, wrong


def _confirm(member, op, code):
    return confirm_code(SIDE_BY_SIDE_OPERATION, op.pk, member, DETAILS, code, CTX)


@pytest.fixture
def compared(monkeypatch):
    """Every comparison of a code (after its count committed)."""
    seen: list[int] = []
    real = attempts.DigestGuess._matches
    monkeypatch.setattr(
        attempts.DigestGuess, "_matches", lambda self, row: seen.append(row.pk) or real(self, row)
    )
    return seen


@pytest.fixture
def generous(settings):
    settings.OTP_SEND_LIMIT = (100, 600)


@pytest.mark.django_db(transaction=True)
def test_r_x7_wrong_codes_sent_at_once_to_operations_waiting_side_by_side_compare_three(
    generous, compared
):
    member = make_member()
    ops, wrong = _waiting(member, 6)
    barrier = threading.Barrier(len(ops) * 2)
    unexpected: list[BaseException] = []

    def guess(op):
        try:
            barrier.wait(timeout=30)
            _confirm(member, op, wrong)
        except ANSWERS:
            pass
        except BaseException as e:  # a 503 (deadlock) or anything else is a finding
            unexpected.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(op,)) for op in ops for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert unexpected == []
    assert len(compared) <= 3
    # Then one after another until none is taken: three compared in all, one consequence.
    for op in ops * 2:
        try:
            _confirm(member, op, wrong)
        except ANSWERS:
            pass
    assert len(compared) == 3
    assert AuditEvent.objects.filter(member_id=member.pk, event="otp_failed").count() == 3
    assert WebChannel.objects.get(member=member).failed_attempts == 1
    states = list(Confirmation.objects.filter(member=member).values_list("state", flat=True))
    # All six had the consequence: none passes its wrong codes on (restarts.carried_over).
    assert sorted(states) == ["exhausted"] * 6
    # Nothing left in flight to be given back later.
    assert not Confirmation.objects.filter(member=member, failed_codes_in_flight__gt=0).exists()


@pytest.mark.django_db
def test_r_x7_once_the_budget_is_spent_the_others_waiting_take_no_code(generous, compared):
    """One after another over three waiting operations: the third wrong code has the
    consequence and the other two are closed, not compared again."""
    member = make_member()
    ops, wrong = _waiting(member, 3)
    for op, answer in zip(ops, (OtpInvalid, OtpInvalid, OtpAttemptsExhausted), strict=True):
        with pytest.raises(answer):
            _confirm(member, op, wrong)
    for op in ops:
        with pytest.raises(OtpExpired):
            _confirm(member, op, wrong)
    assert len(compared) == 3
    assert WebChannel.objects.get(member=member).failed_attempts == 1
    assert {op.pk: Confirmation.objects.get(pk=op.pk).state for op in ops} == {
        ops[0].pk: "exhausted",
        ops[1].pk: "exhausted",
        ops[2].pk: "exhausted",
    }


@pytest.mark.django_db
def test_r_x7_a_code_being_compared_beside_holds_its_place_in_the_budget(generous, compared):
    """Two codes in flight on two others, one wrong settled: the fourth waits for them and,
    as they never settle here, is refused without a count or a comparison."""
    from skarbiec.core import clock

    member = make_member()
    ops, wrong = _waiting(member, 4)
    with pytest.raises(OtpInvalid):
        _confirm(member, ops[0], wrong)  # settled, shared: each holds one wrong code
    for op in ops[1:3]:
        Confirmation.objects.filter(pk=op.pk).update(
            failed_codes=2, failed_codes_in_flight=1, failed_codes_counted_at=clock.now()
        )
    with pytest.raises(AttemptsBeingChecked):
        _confirm(member, ops[3], wrong)
    assert len(compared) == 1
    assert Confirmation.objects.get(pk=ops[3].pk).failed_codes == 1
