"""One-time passwords at the service level: R-O1, R-O2, R-O3, R-O4 (web channel)."""

import hashlib
import threading

import pytest
from django.db import connection, transaction

from skarbiec.audit.models import AuditEvent
from skarbiec.audit.services import RequestContext
from skarbiec.channels.models import WebChannel
from skarbiec.channels.services.web import count_web_failure
from skarbiec.core import clock
from skarbiec.otp.errors import OtpAttemptsExhausted, OtpExpired, OtpInvalid, OtpSendingLimited
from skarbiec.otp.models import OneTimePassword, SmsMessage
from skarbiec.otp.services import SEND_LIMIT, issue_otp, verify_otp, void_otps
from skarbiec.otp.sms import decrypt_body
from tests.factories import make_member

CTX = RequestContext(ip_address="10.2.2.2", channel="web")
TRANSFER = "transfer"
DETAILS = {"amount_minor": 125_000, "to_account": "...4321", "payee": "Anna Nowak"}


class Codes:
    """Collects the codes issue_otp puts into SMS texts, as the member reads them on the phone."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def text(self, code: str) -> str:
        self.seen.append(code)
        return f"Transfer 1250.00 PLN to ...4321 Anna Nowak: code {code}"

    @property
    def last(self) -> str:
        return self.seen[-1]


def issue(member, codes: Codes, details=DETAILS, operation=TRANSFER) -> OneTimePassword:
    return issue_otp(member, operation, details, codes.text, CTX)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


@pytest.mark.django_db
def test_r_o1_r_o3_code_has_six_digits_and_the_right_one_is_accepted():
    member = make_member()
    codes = Codes()
    otp = issue(member, codes)
    assert len(codes.last) == 6 and codes.last.isdigit()
    verify_otp(otp.pk, member, TRANSFER, DETAILS, codes.last, CTX)
    otp.refresh_from_db()
    assert otp.state == OneTimePassword.State.USED
    assert otp.used_at is not None


@pytest.mark.django_db
def test_r_o3_code_with_spaces_as_copied_from_the_sms_is_accepted():
    member = make_member()
    codes = Codes()
    otp = issue(member, codes)
    verify_otp(otp.pk, member, TRANSFER, DETAILS, f" {codes.last[:3]} {codes.last[3:]} ", CTX)


@pytest.mark.django_db
def test_r_o3_codes_are_random_not_sequential():
    member = make_member()
    codes = Codes()
    for i in range(20):
        if i and i % SEND_LIMIT[0] == 0:
            clock.advance(SEND_LIMIT[1])  # stay under the sending limit
        issue(member, codes)
    assert all(len(c) == 6 and c.isdigit() for c in codes.seen)
    assert len(set(codes.seen)) >= 18  # 20 draws from a million collide rarely
    steps = {int(b) - int(a) for a, b in zip(codes.seen, codes.seen[1:], strict=False)}
    assert len(steps) > 1, "codes follow a fixed step"


@pytest.mark.django_db
def test_r_o3_code_is_stored_only_as_a_keyed_hash():
    member = make_member()
    codes = Codes()
    otp = issue(member, codes)
    row = OneTimePassword.objects.filter(pk=otp.pk).values().get()
    for value in row.values():
        assert codes.last not in str(value)
    assert row["code_hash"] != hashlib.sha256(codes.last.encode()).hexdigest()
    assert len(row["code_hash"]) == 64


@pytest.mark.django_db
def test_r_o3_code_is_valid_five_minutes():
    member = make_member()
    codes = Codes()
    otp = issue(member, codes)
    clock.advance(299)
    verify_otp(otp.pk, member, TRANSFER, DETAILS, codes.last, CTX)

    otp = issue(member, codes)
    clock.advance(301)
    with pytest.raises(OtpExpired):
        verify_otp(otp.pk, member, TRANSFER, DETAILS, codes.last, CTX)


@pytest.mark.django_db
def test_r_o3_code_is_single_use():
    member = make_member()
    codes = Codes()
    otp = issue(member, codes)
    verify_otp(otp.pk, member, TRANSFER, DETAILS, codes.last, CTX)
    with pytest.raises(OtpExpired):
        verify_otp(otp.pk, member, TRANSFER, DETAILS, codes.last, CTX)


@pytest.mark.django_db
def test_r_o3_new_code_for_the_same_operation_voids_the_old_one():
    member = make_member()
    codes = Codes()
    first = issue(member, codes)
    first_code = codes.last
    second = issue(member, codes)
    assert OneTimePassword.objects.get(pk=first.pk).state == OneTimePassword.State.VOIDED
    with pytest.raises(OtpExpired):
        verify_otp(first.pk, member, TRANSFER, DETAILS, first_code, CTX)
    verify_otp(second.pk, member, TRANSFER, DETAILS, codes.last, CTX)


@pytest.mark.django_db
def test_r_o3_code_for_another_operation_stays_valid():
    member = make_member()
    codes = Codes()
    transfer = issue(member, codes)
    transfer_code = codes.last
    issue(member, codes, details={"limit_minor": 500_000}, operation="raise_limits")
    verify_otp(transfer.pk, member, TRANSFER, DETAILS, transfer_code, CTX)


@pytest.mark.django_db
def test_r_o3_void_otps_cancels_the_operations_code():
    member = make_member()
    codes = Codes()
    otp = issue(member, codes)
    void_otps(member, TRANSFER)
    with pytest.raises(OtpExpired):
        verify_otp(otp.pk, member, TRANSFER, DETAILS, codes.last, CTX)


@pytest.mark.django_db
def test_r_o3_code_of_another_member_is_refused():
    member, other = make_member(), make_member()
    codes = Codes()
    otp = issue(member, codes)
    with pytest.raises(OtpExpired):
        verify_otp(otp.pk, other, TRANSFER, DETAILS, codes.last, CTX)


@pytest.mark.django_db(transaction=True)
def test_r_o3_parallel_codes_for_one_operation_leave_only_one_valid():
    """Even when two requests issue at the same moment, only one code works (R-O3)."""
    member = make_member()
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def run() -> None:
        codes = Codes()
        try:
            otp = issue(member, codes)
            with lock:
                results.append((otp.pk, codes.last))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3
    accepted = 0
    for otp_id, code in results:
        try:
            verify_otp(otp_id, member, TRANSFER, DETAILS, code, CTX)
            accepted += 1
        except OtpExpired:
            pass
    assert accepted == 1


@pytest.mark.django_db
def test_r_o2_code_is_bound_to_the_details_other_amount_is_refused_and_counted():
    member = make_member()
    codes = Codes()
    otp = issue(member, codes)
    changed = {**DETAILS, "amount_minor": 125_001}
    with pytest.raises(OtpInvalid) as e:
        verify_otp(otp.pk, member, TRANSFER, changed, codes.last, CTX)
    assert e.value.details["attempts_left"] == 2
    assert OneTimePassword.objects.get(pk=otp.pk).failed_attempts == 1
    other_payee = {**DETAILS, "to_account": "...9999"}
    with pytest.raises(OtpInvalid):
        verify_otp(otp.pk, member, TRANSFER, other_payee, codes.last, CTX)
    # The unchanged operation still goes through with the last attempt.
    verify_otp(otp.pk, member, TRANSFER, DETAILS, codes.last, CTX)


@pytest.mark.django_db
def test_r_o2_code_is_bound_to_the_operation():
    member = make_member()
    codes = Codes()
    otp = issue(member, codes)
    with pytest.raises(OtpExpired):
        verify_otp(otp.pk, member, "raise_limits", DETAILS, codes.last, CTX)


@pytest.mark.django_db
def test_r_o2_sms_text_is_the_operations_text_and_encrypted_at_rest():
    member = make_member()
    codes = Codes()
    otp = issue(member, codes)
    sms = SmsMessage.objects.filter(member=member).order_by("-pk").first()
    assert decrypt_body(sms.body_encrypted) == codes.text(codes.last)
    assert codes.last not in sms.body_encrypted
    assert "Anna Nowak" not in sms.body_encrypted
    assert sms.phone == member.phone
    assert sms.state == SmsMessage.State.PENDING
    # A code SMS is not worth sending after its code expired (R-O5 worker).
    assert sms.give_up_at == otp.expires_at


@pytest.mark.django_db
def test_r_o5_code_and_sms_are_written_in_the_callers_transaction():
    member = make_member()
    before_sms = SmsMessage.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        issue(member, Codes())
        raise RuntimeError("the operation failed after the code was issued")
    assert OneTimePassword.objects.filter(member=member).count() == 0
    assert SmsMessage.objects.count() == before_sms


@pytest.mark.django_db
def test_r_o3_sending_is_rate_limited_per_member():
    member, other = make_member(), make_member()
    codes = Codes()
    limit, window = SEND_LIMIT
    for _ in range(limit):
        issue(member, codes)
    sms_before = SmsMessage.objects.filter(member=member).count()
    with pytest.raises(OtpSendingLimited) as e:
        issue(member, codes)
    assert e.value.status == 429
    assert len(codes.seen) == limit
    assert SmsMessage.objects.filter(member=member).count() == sms_before
    issue(other, Codes())  # another member is not affected
    clock.advance(window)
    issue(member, codes)


@pytest.mark.django_db
def test_r_o4_wrong_codes_count_down_then_exhaust():
    member = make_member()
    codes = Codes()
    otp = issue(member, codes)
    for left in (2, 1):
        with pytest.raises(OtpInvalid) as e:
            verify_otp(otp.pk, member, TRANSFER, DETAILS, wrong(codes.last), CTX)
        assert e.value.details["attempts_left"] == left
    with pytest.raises(OtpAttemptsExhausted):
        verify_otp(otp.pk, member, TRANSFER, DETAILS, wrong(codes.last), CTX)
    # The right code no longer helps: the operation is cancelled.
    with pytest.raises(OtpExpired):
        verify_otp(otp.pk, member, TRANSFER, DETAILS, codes.last, CTX)


@pytest.mark.django_db(transaction=True)
def test_r_o4_three_wrong_codes_commit_exhaustion_and_its_consequence():
    """The failures and the on_exhausted effect (a web lockout count) survive the raise."""
    member = make_member()
    codes = Codes()
    otp = issue(member, codes)

    def cancel_operation() -> None:
        count_web_failure(member, "wrong_codes", CTX)

    for _ in range(2):
        with pytest.raises(OtpInvalid):
            verify_otp(otp.pk, member, TRANSFER, DETAILS, "000000x", CTX, cancel_operation)
    assert WebChannel.objects.get(member=member).failed_attempts == 0
    with pytest.raises(OtpAttemptsExhausted):
        verify_otp(otp.pk, member, TRANSFER, DETAILS, wrong(codes.last), CTX, cancel_operation)

    stored = OneTimePassword.objects.get(pk=otp.pk)
    assert stored.state == OneTimePassword.State.EXHAUSTED
    assert stored.failed_attempts == 3
    assert WebChannel.objects.get(member=member).failed_attempts == 1
    events = AuditEvent.objects.filter(member_id=member.pk, event="otp_failed")
    assert [e.data["attempts_left"] for e in events.order_by("seq")] == [2, 1, 0]
