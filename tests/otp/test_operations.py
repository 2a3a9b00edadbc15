"""The confirmed-operation registry (skarbiec.otp.operations): R-O1–R-O4, R-X6, R-X7.

The product's kinds are driven through their flows elsewhere (web login, transfers, ...); here
a test kind exercises the registry's own rules.
"""

import hashlib
import threading

import pytest
from django.db import connection, transaction

from skarbiec.audit.models import AuditEvent
from skarbiec.channels.models import WebChannel
from skarbiec.core import clock
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import InvalidInput
from skarbiec.otp.errors import (
    OtpAttemptsExhausted,
    OtpExpired,
    OtpInvalid,
    OtpResendLimited,
    OtpSendingLimited,
)
from skarbiec.otp.models import Confirmation, SmsMessage
from skarbiec.otp.operations import (
    confirm_code,
    declared_operations,
    resend_code,
    start_confirmation,
    void_confirmations,
)
from skarbiec.otp.restarts import WRONG_CODES_KEPT_FOR, codes_per_operation
from skarbiec.otp.sms import decrypt_body
from tests.factories import make_member
from tests.otp.kinds import (
    OTHER_OPERATION,
    SEEN_CODES,
    SIDE_BY_SIDE_OPERATION,
    TEST_OPERATION,
    last_code,
)

CTX = RequestContext(ip_address="10.2.2.2", channel="web")
DETAILS = {"amount_minor": 125_000, "to_account": "...4321", "payee": "Anna Nowak"}
TEXT = {"text": "Przelew 1250,00 zł na ...4321 Anna Nowak: kod {code}"}


def start(member, details=None, kind=TEST_OPERATION, subject="") -> Confirmation:
    return start_confirmation(
        kind, member, details={**TEXT, **(details or DETAILS)}, channel="web", ctx=CTX,
        subject=subject,
    )  # fmt: skip


def confirm(member, confirmation, code, details=None, kind=TEST_OPERATION) -> Confirmation:
    return confirm_code(kind, confirmation.pk, member, {**TEXT, **(details or DETAILS)}, code, CTX)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def test_r_x7_every_kind_the_spec_names_is_declared_once():
    """The apps declare their kinds when Django starts: the registry is complete."""
    product = {k for k in declared_operations() if not k.startswith("test_")}
    assert product == {
        "web_login",
        "web_password_change",
        "mobile_channel_activation",
        "mobile_app_reactivation",
        "mobile_device_activation",
        "transfer",
        "trusted_payee",
        "raise_limits",
    }


@pytest.mark.django_db
def test_r_o1_r_o3_code_has_six_digits_and_the_right_one_is_accepted():
    member = make_member()
    confirmation = start(member)
    assert len(last_code()) == 6 and last_code().isdigit()
    confirm(member, confirmation, last_code())
    confirmation.refresh_from_db()
    assert confirmation.state == Confirmation.State.CONFIRMED
    assert confirmation.closed_at is not None


@pytest.mark.django_db
def test_r_o3_code_with_spaces_as_copied_from_the_sms_is_accepted():
    member = make_member()
    confirmation = start(member)
    code = last_code()
    confirm(member, confirmation, f" {code[:3]} {code[3:]} ")


@pytest.mark.django_db
def test_r_o3_codes_are_random_not_sequential(settings):
    settings.OTP_SEND_LIMIT = (100, 600)
    member = make_member()
    before = len(SEEN_CODES)
    for _ in range(20):
        start(member)
        clock.advance(601)  # a new operation each time, not one started again (R-X7)
    codes = SEEN_CODES[before:]
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(set(codes)) >= 18  # 20 draws from a million collide rarely
    steps = {int(b) - int(a) for a, b in zip(codes, codes[1:], strict=False)}
    assert len(steps) > 1, "codes follow a fixed step"


@pytest.mark.django_db
def test_r_o3_code_is_stored_only_as_a_keyed_hash():
    member = make_member()
    confirmation = start(member)
    row = Confirmation.objects.filter(pk=confirmation.pk).values().get()
    for value in row.values():
        assert last_code() not in str(value)
    assert row["code_hash"] != hashlib.sha256(last_code().encode()).hexdigest()
    assert len(row["code_hash"]) == 64


@pytest.mark.django_db
def test_r_o3_code_is_valid_five_minutes():
    member = make_member()
    confirmation = start(member)
    clock.advance(299)
    confirm(member, confirmation, last_code())

    confirmation = start(member)
    clock.advance(301)
    with pytest.raises(OtpExpired):
        confirm(member, confirmation, last_code())
    # An expired code is not a wrong one: nothing was counted.
    assert Confirmation.objects.get(pk=confirmation.pk).failed_codes == 0


@pytest.mark.django_db
def test_r_o3_code_is_single_use():
    member = make_member()
    confirmation = start(member)
    confirm(member, confirmation, last_code())
    with pytest.raises(OtpExpired):
        confirm(member, confirmation, last_code())


@pytest.mark.django_db
def test_r_o3_a_new_operation_of_the_same_kind_voids_the_old_one():
    member = make_member()
    first = start(member)
    first_code = last_code()
    second = start(member)
    assert Confirmation.objects.get(pk=first.pk).state == Confirmation.State.VOIDED
    with pytest.raises(OtpExpired):
        confirm(member, first, first_code)
    confirm(member, second, last_code())


@pytest.mark.django_db
def test_r_o3_resent_code_voids_the_old_code_of_the_same_operation():
    member = make_member()
    confirmation = start(member)
    old = last_code()
    resend_code(TEST_OPERATION, confirmation.pk, member, CTX)
    new = last_code()
    if new != old:
        with pytest.raises(OtpInvalid):
            confirm(member, confirmation, old)
    confirm(member, confirmation, new)


@pytest.mark.django_db
def test_r_o3_operations_of_other_kinds_or_subjects_stay_valid():
    member = make_member()
    first = start(member, subject="1")
    first_code = last_code()
    start(member, subject="2")
    start(member, kind=OTHER_OPERATION)
    confirm(member, first, first_code)


@pytest.mark.django_db
def test_r_o3_void_confirmations_closes_the_operation():
    member = make_member()
    confirmation = start(member)
    void_confirmations(member, TEST_OPERATION)
    with pytest.raises(OtpExpired):
        confirm(member, confirmation, last_code())


@pytest.mark.django_db
def test_r_o3_code_of_another_member_is_refused():
    member, other = make_member(), make_member()
    confirmation = start(member)
    with pytest.raises(OtpExpired):
        confirm(other, confirmation, last_code())


@pytest.mark.django_db
def test_r_o2_code_is_bound_to_the_kind():
    member = make_member()
    confirmation = start(member)
    with pytest.raises(OtpExpired):
        confirm(member, confirmation, last_code(), kind=OTHER_OPERATION)


@pytest.mark.django_db(transaction=True)
def test_r_o3_parallel_starts_of_one_operation_leave_only_one_code_valid():
    member = make_member()
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            confirmation = start(member)
            code = last_code()
            with lock:
                results.append((confirmation.pk, code))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3
    accepted = 0
    for confirmation_id, code in results:
        try:
            confirm(member, Confirmation.objects.get(pk=confirmation_id), code)
            accepted += 1
        except (OtpExpired, OtpInvalid):
            pass
    assert accepted == 1


@pytest.mark.django_db
def test_r_o2_code_is_bound_to_the_details_other_amount_is_refused_and_counted():
    member = make_member()
    confirmation = start(member)
    code = last_code()
    with pytest.raises(OtpInvalid) as e:
        confirm(member, confirmation, code, details={**DETAILS, "amount_minor": 125_001})
    assert e.value.details["attempts_left"] == 2
    assert Confirmation.objects.get(pk=confirmation.pk).failed_codes == 1
    with pytest.raises(OtpInvalid):
        confirm(member, confirmation, code, details={**DETAILS, "to_account": "...9999"})
    # The unchanged operation still goes through with the last attempt.
    confirm(member, confirmation, code)


@pytest.mark.django_db
def test_r_o2_sms_text_names_the_operation_and_is_encrypted_at_rest():
    member = make_member()
    confirmation = start(member)
    sms = SmsMessage.objects.filter(member=member).order_by("-pk").first()
    assert decrypt_body(sms.body_encrypted) == TEXT["text"].format(code=last_code())
    assert last_code() not in sms.body_encrypted
    assert "Anna Nowak" not in sms.body_encrypted
    assert sms.phone == member.phone
    # A code SMS is not worth sending after its code expired (R-O5 worker).
    assert sms.give_up_at == confirmation.code_expires_at


@pytest.mark.django_db
def test_r_o5_code_and_sms_are_written_in_the_callers_transaction():
    member = make_member()
    before_sms = SmsMessage.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        start(member)
        raise RuntimeError("the operation failed after the code was issued")
    assert Confirmation.objects.filter(member=member).count() == 0
    assert SmsMessage.objects.count() == before_sms


@pytest.mark.django_db
def test_r_o3_r_x7_sending_is_limited_per_member_and_says_how_long_to_wait(settings):
    settings.OTP_SEND_LIMIT = (4, 600)
    member, other = make_member(), make_member()
    for _ in range(4):
        start(member)
    sms_before = SmsMessage.objects.filter(member=member).count()
    with pytest.raises(OtpSendingLimited) as e:
        start(member)
    assert e.value.status == 429
    assert 0 < e.value.details["retry_after"] <= 600
    assert "min" in str(e.value.message)
    assert SmsMessage.objects.filter(member=member).count() == sms_before
    start(other)  # another member is not affected
    clock.advance(600)
    start(member)


@pytest.mark.django_db
def test_r_x7_a_member_gets_at_most_the_days_codes_in_any_24_hours(settings):
    """Ten minutes' budget, spent again and again all day by a script on the member's session,
    would be 1,728 SMS a day for the credit union to pay: the day has a budget of its own."""
    settings.OTP_SEND_LIMIT = (4, 600)
    settings.OTP_DAILY_SEND_LIMIT = (10, 86400)
    member, other = make_member(), make_member()
    for n in range(10):
        start(member, subject=str(n))  # ten operations, one code each
        clock.advance(610)  # each within the ten minutes' budget, and no restart
    with pytest.raises(OtpSendingLimited) as e:
        start(member, subject="10")
    # The first code of the day leaves the budget 24 hours after it was sent: in ~22 h 18 min.
    assert e.value.details["retry_after"] == 86400 - 10 * 610
    assert "za 23 godz." in str(e.value.message)  # Polish by default
    start(other)  # another member is not affected
    clock.advance(e.value.details["retry_after"])
    start(member, subject="11")


@pytest.mark.django_db
@pytest.mark.parametrize("given_up", [SmsMessage.State.FAILED, SmsMessage.State.EXPIRED])
def test_r_x7_codes_never_delivered_leave_the_budget_free(settings, given_up):
    """The gateway refused the codes, or could not send them before they expired: they never
    reached the member and do not take the budget. Codes still on their way do."""
    settings.OTP_SEND_LIMIT = (4, 600)
    member = make_member()
    subjects = iter(range(1, 100))

    def start_another() -> Confirmation:
        return start(member, kind=SIDE_BY_SIDE_OPERATION, subject=str(next(subjects)))

    for _ in range(4):
        start_another()
    with pytest.raises(OtpSendingLimited):
        start_another()
    SmsMessage.objects.filter(member=member).update(state=given_up)
    for _ in range(4):
        start_another()
    with pytest.raises(OtpSendingLimited):
        start_another()
    SmsMessage.objects.filter(member=member, state=SmsMessage.State.PENDING).update(
        state=SmsMessage.State.SENT
    )
    with pytest.raises(OtpSendingLimited):
        start_another()
    # Given up after a try without an answer: it may have reached the member, and counts.
    SmsMessage.objects.filter(member=member, state=SmsMessage.State.SENT).update(
        state=given_up, maybe_sent=True
    )
    with pytest.raises(OtpSendingLimited):
        start_another()


@pytest.mark.django_db
def test_r_o3_the_wait_named_is_until_the_oldest_code_of_the_budget_leaves_the_window(settings):
    """Sliding window: codes at 0, 60, 120 and 180 s take a budget of four; at 200 s the next
    one waits until the first leaves the window (600 s), then exactly one more may go."""
    settings.OTP_SEND_LIMIT = (4, 600)
    member = make_member()
    subjects = iter(range(1, 100))

    def start_another() -> Confirmation:
        # Operations of their own (transfers waiting side by side), not one started again.
        return start(member, kind=SIDE_BY_SIDE_OPERATION, subject=str(next(subjects)))

    for _ in range(4):
        start_another()
        clock.advance(60)
    clock.advance(200 - 240)
    with pytest.raises(OtpSendingLimited) as e:
        start_another()
    assert e.value.details["retry_after"] == 400
    clock.advance(401)
    start_another()
    with pytest.raises(OtpSendingLimited) as e:
        start_another()
    assert e.value.details["retry_after"] == 59  # the code of 60 s leaves at 660 s


@pytest.mark.django_db
def test_r_o4_wrong_codes_count_down_then_exhaust():
    member = make_member()
    confirmation = start(member)
    code = last_code()
    for left in (2, 1):
        with pytest.raises(OtpInvalid) as e:
            confirm(member, confirmation, wrong(code))
        assert e.value.details["attempts_left"] == left
    with pytest.raises(OtpAttemptsExhausted):
        confirm(member, confirmation, wrong(code))
    # The right code no longer helps: the operation is cancelled.
    with pytest.raises(OtpExpired):
        confirm(member, confirmation, code)


@pytest.mark.django_db
def test_r_x7_wrong_codes_before_a_resend_still_count_three_in_total():
    member = make_member()
    confirmation = start(member)
    with pytest.raises(OtpInvalid):
        confirm(member, confirmation, wrong(last_code()))
    resend_code(TEST_OPERATION, confirmation.pk, member, CTX)
    with pytest.raises(OtpInvalid) as e:
        confirm(member, confirmation, wrong(last_code()))
    assert e.value.details["attempts_left"] == 1
    resend_code(TEST_OPERATION, confirmation.pk, member, CTX)
    with pytest.raises(OtpAttemptsExhausted):
        confirm(member, confirmation, wrong(last_code()))
    # Closed for good: neither a resend nor the newest code reopens it.
    with pytest.raises(OtpExpired):
        resend_code(TEST_OPERATION, confirmation.pk, member, CTX)
    with pytest.raises(OtpExpired):
        confirm(member, confirmation, last_code())
    assert WebChannel.objects.get(member=member).failed_attempts == 1


@pytest.mark.django_db
def test_r_x7_an_operation_started_again_keeps_its_wrong_codes():
    """Starting over is a resend to the budget: two wrong codes, a new start, and the third
    wrong code has the consequence (R-O4) instead of a fresh three."""
    member = make_member()
    with pytest.raises(OtpInvalid):
        confirm(member, start(member), wrong(last_code()))
    second = start(member)
    assert second.failed_codes == 1
    with pytest.raises(OtpInvalid) as e:
        confirm(member, second, wrong(last_code()))
    assert e.value.details["attempts_left"] == 1
    with pytest.raises(OtpAttemptsExhausted):
        confirm(member, start(member), wrong(last_code()))
    assert WebChannel.objects.get(member=member).failed_attempts == 1


@pytest.mark.django_db
def test_r_x7_a_cancelled_operation_started_again_keeps_its_wrong_codes():
    member = make_member()
    with pytest.raises(OtpInvalid):
        confirm(member, start(member), wrong(last_code()))
    void_confirmations(member, TEST_OPERATION)
    assert start(member).failed_codes == 1


@pytest.mark.django_db
def test_r_x7_a_confirmed_or_exhausted_or_old_operation_leaves_no_wrong_codes_behind():
    member = make_member()
    first = start(member)
    with pytest.raises(OtpInvalid):
        confirm(member, first, wrong(last_code()))
    confirm(member, first, last_code())
    assert start(member).failed_codes == 0  # a right code ended the count
    for _ in range(3):
        with pytest.raises((OtpInvalid, OtpAttemptsExhausted)):
            confirm(member, Confirmation.objects.latest("pk"), wrong(last_code()))
    assert start(member).failed_codes == 0  # the consequence ran once, not again
    with pytest.raises(OtpInvalid):
        confirm(member, Confirmation.objects.latest("pk"), wrong(last_code()))
    clock.advance(WRONG_CODES_KEPT_FOR.total_seconds() + 1)
    assert start(member).failed_codes == 0


@pytest.mark.django_db
def test_r_x7_an_operation_in_use_keeps_its_wrong_codes_and_resends_however_old_it_is(settings):
    """Ten minutes count from the operation's last use, not from its start: a resend at 9:50,
    two wrong codes at 10:05 and a start again five seconds later leave one wrong code to go
    (not a fresh three), and the resends carry over."""
    settings.OTP_SEND_LIMIT = (100, 600)
    member = make_member()
    first = start(member)
    clock.advance(9 * 60 + 50)
    resend_code(TEST_OPERATION, first.pk, member, CTX)
    clock.advance(15)
    for _ in range(2):
        with pytest.raises(OtpInvalid):
            confirm(member, first, wrong(last_code()))
    clock.advance(5)
    second = start(member)
    assert (second.failed_codes, second.codes_sent) == (2, 3)
    with pytest.raises(OtpAttemptsExhausted):
        confirm(member, second, wrong(last_code()))
    assert WebChannel.objects.get(member=member).failed_attempts == 1


@pytest.mark.django_db
def test_r_x7_wrong_codes_of_the_last_ten_minutes_count_whenever_their_operation_began():
    member = make_member()
    first = start(member)
    clock.advance(4 * 60 + 50)  # the first code still works
    for _ in range(2):
        with pytest.raises(OtpInvalid):
            confirm(member, first, wrong(last_code()))
    clock.advance(5 * 60 + 40)  # 10:30 after the start, 5:40 after the wrong codes
    assert start(member).failed_codes == 2


@pytest.mark.django_db
def test_r_x7_codes_sent_in_the_last_ten_minutes_count_whenever_their_operation_began(settings):
    settings.OTP_SEND_LIMIT = (100, 600)
    member = make_member()
    first = start(member)
    clock.advance(5 * 60)
    resend_code(TEST_OPERATION, first.pk, member, CTX)
    clock.advance(9 * 60 + 59)  # 14:59 after the start, 9:59 after the last code
    assert start(member).codes_sent == 3


@pytest.mark.django_db
def test_r_x7_an_operation_of_the_same_kind_keeps_the_wrong_codes_whatever_its_subject():
    """A transfer, a payee or a raise of limits sent again is a new row, so a new subject:
    the wrong codes follow the member's newest operation of the kind, not the subject, and
    another kind has its own budget. Confirmed or more than ten minutes old, nothing is kept."""
    member = make_member()
    with pytest.raises(OtpInvalid):
        confirm(member, start(member, subject="1"), wrong(last_code()))
    assert start(member, kind=OTHER_OPERATION).failed_codes == 0
    second = start(member, subject="2")
    assert second.failed_codes == 1
    with pytest.raises(OtpInvalid):
        confirm(member, second, wrong(last_code()))
    assert start(member, subject="3").failed_codes == 2
    confirm(member, start(member, subject="4"), last_code())
    assert start(member, subject="5").failed_codes == 0
    with pytest.raises(OtpInvalid):
        confirm(member, start(member, subject="6"), wrong(last_code()))
    clock.advance(11 * 60)
    assert start(member, subject="7").failed_codes == 0


@pytest.mark.django_db
def test_r_x7_another_operation_begun_meanwhile_does_not_reset_the_wrong_codes(settings):
    """A transfer, a second one begun after it (the newest of the kind, no wrong code), two
    wrong codes on the first, both cancelled: begun again, the first keeps its two."""
    settings.OTP_SEND_LIMIT = (100, 600)
    member = make_member()
    kind = SIDE_BY_SIDE_OPERATION
    target = start(member, kind=kind, subject="1")
    code = last_code()
    start(member, kind=kind, subject="2")  # the decoy
    for _ in range(2):
        with pytest.raises(OtpInvalid):
            confirm(member, target, wrong(code), kind=kind)
    void_confirmations(member, kind)
    assert start(member, kind=kind, subject="3").failed_codes == 2
    with pytest.raises(OtpAttemptsExhausted):
        confirm(member, Confirmation.objects.latest("pk"), wrong(last_code()), kind=kind)


@pytest.mark.django_db
def test_r_x7_operations_waiting_side_by_side_share_their_wrong_codes(settings):
    """Begun before any code was entered, they each had a budget of their own: with three of
    them, six wrong codes were compared and nothing was exhausted. A wrong code on one now
    counts on every other one waiting in its channel, keeping the codes in flight on top."""
    settings.OTP_SEND_LIMIT = (100, 600)
    member = make_member()
    kind = SIDE_BY_SIDE_OPERATION
    ops = [start(member, kind=kind, subject=str(i)) for i in range(3)]
    other_channel = start(member, kind=kind, subject="m")
    Confirmation.objects.filter(pk=other_channel.pk).update(channel="mobile")
    with pytest.raises(OtpInvalid) as first:
        confirm(member, ops[0], "000000" if last_code() != "000000" else "111111", kind=kind)
    assert first.value.details["attempts_left"] == 2
    failed = dict(Confirmation.objects.filter(member=member).values_list("pk", "failed_codes"))
    assert [failed[o.pk] for o in ops] == [1, 1, 1] and failed[other_channel.pk] == 0
    with pytest.raises(OtpInvalid) as second:
        confirm(member, ops[1], "000000" if last_code() != "000000" else "111111", kind=kind)
    assert second.value.details["attempts_left"] == 1
    with pytest.raises(OtpAttemptsExhausted):
        confirm(member, ops[2], "000000" if last_code() != "000000" else "111111", kind=kind)


def _wrong_code() -> str:
    return "000000" if last_code() != "000000" else "111111"


@pytest.mark.django_db
def test_r_o3_a_code_replaced_while_it_was_compared_confirms_nothing(monkeypatch):
    """The right code and a resend at the same moment: the resend commits while the code is
    compared. The code it replaced confirmed the operation (the member then got a new code for
    an operation already done); it is refused now, and not counted: no mistake of the
    member's. The new code confirms."""
    from skarbiec.core.attempts import DigestGuess

    member = make_member()
    operation = start(member)
    code = last_code()
    real = DigestGuess._matches

    def resent_meanwhile(self, row):  # noqa: ANN001, ANN202
        matched = real(self, row)
        resend_code(TEST_OPERATION, operation.pk, member, CTX)
        return matched

    monkeypatch.setattr(DigestGuess, "_matches", resent_meanwhile)
    with pytest.raises(OtpExpired):
        confirm(member, operation, code)
    monkeypatch.undo()
    row = Confirmation.objects.get(pk=operation.pk)
    assert (row.state, row.failed_codes, row.failed_codes_in_flight) == ("open", 0, 0)
    assert last_code() != code
    assert confirm(member, operation, last_code()).state == "confirmed"


@pytest.mark.django_db
def test_r_x7_r_o4_wrong_codes_whose_consequence_ran_are_not_carried_to_the_next(settings):
    """Three wrong codes on the oldest of three operations waiting side by side exhaust the
    budget they share: its consequence runs once, for all of them. The two begun after it held
    the same two wrong codes; closed as merely voided, a transfer begun next took those over,
    and its first wrong code blocked the app with the consequence already run."""
    settings.OTP_SEND_LIMIT = (100, 600)
    member = make_member()
    kind = SIDE_BY_SIDE_OPERATION
    ops = [start(member, kind=kind, subject=str(i)) for i in range(3)]
    for expected in (OtpInvalid, OtpInvalid, OtpAttemptsExhausted):
        with pytest.raises(expected):
            confirm(member, ops[0], _wrong_code(), kind=kind)
    states = dict(Confirmation.objects.filter(member=member).values_list("pk", "state"))
    assert {states[o.pk] for o in ops} == {Confirmation.State.EXHAUSTED}
    after = start(member, kind=kind, subject="next")
    assert Confirmation.objects.get(pk=after.pk).failed_codes == 0
    with pytest.raises(OtpInvalid) as first:
        confirm(member, after, _wrong_code(), kind=kind)
    assert first.value.details["attempts_left"] == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "not_a_code", ["12345", "1234567", "\uff11\uff12\uff13\uff14\uff15\uff16", "12345x", "\u200b"]
)
def test_r_x6_what_cannot_be_a_code_is_refused_and_not_counted(not_a_code):
    """Another length, other characters (full-width digits, a zero-width space): no guess at
    the code, so no wrong code either (R-X6); the web's form and the API alike."""
    member = make_member()
    confirmation = start(member)
    with pytest.raises(InvalidInput):
        confirm(member, confirmation, not_a_code)
    assert Confirmation.objects.get(pk=confirmation.pk).failed_codes == 0
    assert (
        confirm(member, confirmation, f" {last_code()[:3]} {last_code()[3:]} ").state == "confirmed"
    )


@pytest.mark.django_db
def test_r_x7_a_shared_wrong_code_keeps_the_others_attempts_in_flight_on_top():
    member = make_member()
    kind = SIDE_BY_SIDE_OPERATION
    first, other = start(member, kind=kind, subject="1"), start(member, kind=kind, subject="2")
    # One attempt of the other one counted and still being compared.
    Confirmation.objects.filter(pk=other.pk).update(
        failed_codes=1, failed_codes_in_flight=1, failed_codes_counted_at=clock.now()
    )
    with pytest.raises(OtpInvalid):
        confirm(member, first, "000000" if last_code() != "000000" else "111111", kind=kind)
    other.refresh_from_db()
    assert (other.failed_codes, other.failed_codes_in_flight) == (2, 1)


@pytest.mark.django_db
def test_r_x7_a_right_code_ends_the_count_of_every_operation_begun_before_it():
    member = make_member()
    with pytest.raises(OtpInvalid):
        confirm(member, start(member), wrong(last_code()))
    again = start(member)  # the first voided, its wrong code kept
    assert again.failed_codes == 1
    confirm(member, again, last_code())
    assert start(member).failed_codes == 0


@pytest.mark.django_db
def test_r_x7_resends_are_limited_per_operation_and_the_last_code_still_works(settings):
    settings.OTP_SEND_LIMIT = (100, 600)
    member = make_member()
    confirmation = start(member)
    for _ in range(codes_per_operation() - 1):
        resend_code(TEST_OPERATION, confirmation.pk, member, CTX)
    sms_before = SmsMessage.objects.filter(member=member).count()
    with pytest.raises(OtpResendLimited) as e:
        resend_code(TEST_OPERATION, confirmation.pk, member, CTX)
    assert e.value.status == 429
    assert SmsMessage.objects.filter(member=member).count() == sms_before
    confirm(member, confirmation, last_code())


@pytest.mark.django_db
def test_r_x7_an_expired_code_can_be_resent_within_the_same_budget():
    member = make_member()
    confirmation = start(member)
    with pytest.raises(OtpInvalid):
        confirm(member, confirmation, wrong(last_code()))
    clock.advance(301)
    with pytest.raises(OtpExpired):
        confirm(member, confirmation, last_code())
    resend_code(TEST_OPERATION, confirmation.pk, member, CTX)
    with pytest.raises(OtpInvalid) as e:
        confirm(member, confirmation, wrong(last_code()))
    assert e.value.details["attempts_left"] == 1
    confirm(member, confirmation, last_code())


@pytest.mark.django_db(transaction=True)
def test_r_o4_r_x6_three_wrong_codes_commit_exhaustion_and_its_consequence():
    """The failures and the kind's consequence (a web lockout count) survive the raise."""
    member = make_member()
    confirmation = start(member)
    for _ in range(2):
        with pytest.raises(OtpInvalid):
            confirm(member, confirmation, wrong(last_code()))
    assert WebChannel.objects.get(member=member).failed_attempts == 0
    with pytest.raises(OtpAttemptsExhausted):
        confirm(member, confirmation, wrong(last_code()))

    stored = Confirmation.objects.get(pk=confirmation.pk)
    assert stored.state == Confirmation.State.EXHAUSTED
    assert stored.failed_codes == 3
    assert WebChannel.objects.get(member=member).failed_attempts == 1
    events = AuditEvent.objects.filter(member_id=member.pk, event="otp_failed")
    assert [e.data["attempts_left"] for e in events.order_by("pk")] == [2, 1, 0]


@pytest.mark.django_db
def test_r_x6_confirming_inside_a_callers_transaction_is_refused_before_any_comparison(
    monkeypatch,
):
    """The count must commit on its own: a caller cannot wrap it and roll it back, and is
    refused before the code is compared."""
    from skarbiec.core import attempts

    compared = []
    real = attempts.DigestGuess._matches
    monkeypatch.setattr(
        attempts.DigestGuess, "_matches", lambda self, row: compared.append(1) or real(self, row)
    )
    member = make_member()
    confirmation = start(member)
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        confirm(member, confirmation, last_code())
    assert compared == []


@pytest.mark.django_db
def test_r_x7_an_operation_started_again_keeps_its_codes_sent_and_then_waits(settings):
    """Starting again is resending by other means: the fifth code of one operation is refused
    with the wait until the last one started is ten minutes old; its code still works."""
    settings.OTP_SEND_LIMIT = (100, 600)
    member = make_member()
    for sent in range(1, codes_per_operation() + 1):
        last = start(member)
        assert last.codes_sent == sent
        clock.advance(30)
    with pytest.raises(OtpSendingLimited) as e:
        start(member)
    assert e.value.details["retry_after"] == 600 - 30
    assert confirm(member, last, last_code()).state == Confirmation.State.CONFIRMED
    # A right code ends the count: the next one is an operation of its own.
    assert start(member).codes_sent == 1


@pytest.mark.django_db
def test_r_x7_the_wait_after_the_last_code_counts_from_when_it_was_sent(settings):
    settings.OTP_SEND_LIMIT = (100, 600)
    member = make_member()
    operation = start(member)
    for _ in range(codes_per_operation() - 1):
        clock.advance(3 * 60)
        resend_code(TEST_OPERATION, operation.pk, member, CTX)
    clock.advance(30)  # 9:30 after the start, 0:30 after the last code
    with pytest.raises(OtpSendingLimited) as e:
        start(member)
    assert e.value.details["retry_after"] == 600 - 30


@pytest.mark.django_db
def test_r_x7_operations_waiting_side_by_side_have_codes_of_their_own(settings):
    settings.OTP_SEND_LIMIT = (100, 600)
    member = make_member()
    last = codes_per_operation() + 2
    for subject in range(1, last + 1):
        started = start(member, kind=SIDE_BY_SIDE_OPERATION, subject=str(subject))
        assert started.codes_sent == 1
    # The last one started again is the same operation.
    assert start(member, kind=SIDE_BY_SIDE_OPERATION, subject=str(last)).codes_sent == 2


@pytest.mark.django_db
def test_r_x7_after_staff_close_an_operation_a_fresh_start_has_its_own_codes(settings):
    """The member's SMS never came; three resends; the helpline sorts the phone out and
    closes what was open. The next start must not wait ten minutes for codes never received."""
    settings.OTP_SEND_LIMIT = (100, 600)
    member = make_member()
    for _ in range(codes_per_operation()):
        start(member)
    assert void_confirmations(member, TEST_OPERATION) == 1
    assert start(member).codes_sent == 1


@pytest.mark.django_db
def test_r_o4_r_x7_wrong_codes_entered_in_one_channel_are_not_carried_to_the_other(settings):
    """Two wrong codes for a transfer in the internet service, then a transfer begun in the
    app: one wrong code there blocked the app, which R-O4 blocks for three entered in the app.
    Each channel bears its own three; begun again in the web, the web's two are still there."""
    settings.OTP_SEND_LIMIT = (100, 600)
    member = make_member()
    kind = SIDE_BY_SIDE_OPERATION
    in_app_ctx = RequestContext(ip_address="10.2.2.3", channel="mobile")
    in_web = start(member, kind=kind, subject="1")
    for _ in range(2):
        with pytest.raises(OtpInvalid):
            confirm(member, in_web, wrong(last_code()), kind=kind)
    void_confirmations(member, kind, "1")

    in_app = start_confirmation(
        kind, member, details={**TEXT, **DETAILS}, channel="mobile", ctx=in_app_ctx, subject="2"
    )
    assert in_app.failed_codes == 0
    with pytest.raises(OtpInvalid) as refused:
        confirm_code(kind, in_app.pk, member, {**TEXT, **DETAILS}, wrong(last_code()), in_app_ctx)
    assert refused.value.details["attempts_left"] == 2

    assert start(member, kind=kind, subject="3").failed_codes == 2
