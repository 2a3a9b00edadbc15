"""The SMS worker (R-O5): sending, erasing bodies, retries with backoff, giving up."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction

from skarbiec.audit.models import AuditEvent
from skarbiec.core import clock
from skarbiec.core.context import RequestContext
from skarbiec.otp.delivery import (
    LEASE_SECONDS,
    RETRY_DELAYS_SECONDS,
    _claim_sendable_message,
    _give_up,
    _record_failure,
    send_pending_sms,
)
from skarbiec.otp.errors import OtpResendLimited
from skarbiec.otp.gateways import GatewayError, OutboxGateway
from skarbiec.otp.models import Confirmation, SmsMessage
from skarbiec.otp.operations import resend_code, start_confirmation, void_confirmations
from skarbiec.otp.restarts import codes_per_operation
from skarbiec.otp.sms import decrypt_body, queue_sms
from tests.factories import make_member
from tests.otp.kinds import TEST_OPERATION, last_code

CTX = RequestContext(ip_address="10.3.3.3", channel="web")


class RecordingGateway:
    """Stands in for the SMS provider (the outside world): accepts and remembers messages."""

    name = "fake"
    keeps_body = False

    def __init__(self, failures: list[GatewayError | Exception] | None = None) -> None:
        self.failures = list(failures or [])
        self.sent: list[tuple[str, str]] = []
        self.calls = 0
        self.lock = threading.Lock()

    def send(self, phone: str, text: str, *, reference: str) -> str:
        with self.lock:
            self.calls += 1
            if self.failures:
                raise self.failures.pop(0)
            self.sent.append((phone, text))
            return f"fake-{len(self.sent)}"


def temporary() -> GatewayError:
    return GatewayError("provider busy", temporary=True)


def member_without_queue():
    """A member whose onboarding SMS (temporary password) was already delivered."""
    member = make_member()
    send_pending_sms(gateway=OutboxGateway())
    return member


@pytest.mark.django_db
def test_r_o5_outbox_marks_sent_and_keeps_the_body_readable():
    member = make_member()
    sms = queue_sms(member.phone, "Kod 123456", member=member)
    handled = send_pending_sms(gateway=OutboxGateway())
    assert handled == 2  # the onboarding SMS and this one
    sms.refresh_from_db()
    assert sms.state == SmsMessage.State.SENT
    assert sms.gateway == "outbox"
    assert sms.gateway_message_id.startswith("outbox-")
    assert sms.sent_at is not None
    assert sms.attempts == 1
    assert decrypt_body(sms.body_encrypted) == "Kod 123456"


@pytest.mark.django_db
def test_r_o5_real_gateway_gets_the_text_and_the_body_is_erased_after_sending():
    member = member_without_queue()
    gateway = RecordingGateway()
    start_confirmation(
        TEST_OPERATION,
        member,
        details={"text": "Kod {code} do logowania"},
        channel="web",
        ctx=CTX,
    )
    assert send_pending_sms(gateway=gateway) == 1
    assert gateway.sent == [(member.phone, f"Kod {last_code()} do logowania")]
    sms = SmsMessage.objects.filter(member=member).order_by("-pk").first()
    assert sms.state == SmsMessage.State.SENT
    assert sms.gateway == "fake"
    assert sms.gateway_message_id == "fake-1"
    assert sms.body_encrypted == ""
    assert decrypt_body(sms.body_encrypted) == ""
    # Nothing left to send.
    assert send_pending_sms(gateway=gateway) == 0


@pytest.mark.django_db
def test_r_o5_temporary_failures_back_off_then_fail_after_the_last_retry():
    member = member_without_queue()
    gateway = RecordingGateway([temporary() for _ in range(10)])
    sms = queue_sms(member.phone, "Haslo tymczasowe: Abc#12345", member=member)
    assert send_pending_sms(gateway=gateway) == 1
    for attempt, delay in enumerate(RETRY_DELAYS_SECONDS, start=1):
        sms.refresh_from_db()
        assert sms.state == SmsMessage.State.PENDING
        assert sms.attempts == attempt
        assert sms.last_error == "provider busy"
        expected = clock.now() + timedelta(seconds=delay)
        assert abs(sms.next_attempt_at - expected) < timedelta(seconds=2)
        # Not due yet: the worker leaves it alone.
        clock.advance(delay - 2)
        assert send_pending_sms(gateway=gateway) == 0
        clock.advance(2)
        assert send_pending_sms(gateway=gateway) == 1
    sms.refresh_from_db()
    assert sms.state == SmsMessage.State.FAILED
    assert sms.attempts == len(RETRY_DELAYS_SECONDS) + 1
    assert sms.body_encrypted == ""
    assert gateway.calls == len(RETRY_DELAYS_SECONDS) + 1
    event = AuditEvent.objects.filter(member_id=member.pk, event="sms_not_delivered").get()
    assert event.data["state"] == "failed"


@pytest.mark.django_db
@pytest.mark.parametrize("maybe_sent", [False, True])
def test_r_x7_a_try_without_an_answer_is_remembered_after_the_message_is_given_up(maybe_sent):
    member = member_without_queue()
    failures = [GatewayError("no answer", temporary=True, maybe_sent=maybe_sent)] + [
        GatewayError("refused", temporary=False)
    ]
    gateway = RecordingGateway(failures)
    sms = queue_sms(member.phone, "Haslo tymczasowe: Abc#12345", member=member)
    send_pending_sms(gateway=gateway)
    clock.advance(RETRY_DELAYS_SECONDS[0])
    send_pending_sms(gateway=gateway)
    sms.refresh_from_db()
    assert sms.state == SmsMessage.State.FAILED
    assert sms.maybe_sent is maybe_sent


@pytest.mark.django_db
def test_r_o5_message_is_sent_when_the_provider_recovers():
    member = member_without_queue()
    gateway = RecordingGateway([temporary(), temporary()])
    sms = queue_sms(member.phone, "Kod 000111", member=member)
    send_pending_sms(gateway=gateway)
    clock.advance(RETRY_DELAYS_SECONDS[0])
    send_pending_sms(gateway=gateway)
    clock.advance(RETRY_DELAYS_SECONDS[1])
    send_pending_sms(gateway=gateway)
    sms.refresh_from_db()
    assert sms.state == SmsMessage.State.SENT
    assert sms.attempts == 3
    assert sms.last_error == ""
    assert gateway.sent == [(member.phone, "Kod 000111")]


@pytest.mark.django_db
def test_r_o5_permanent_failure_fails_at_once():
    member = member_without_queue()
    gateway = RecordingGateway([GatewayError("invalid number", temporary=False)])
    sms = queue_sms(member.phone, "Kod 222333", member=member)
    send_pending_sms(gateway=gateway)
    sms.refresh_from_db()
    assert sms.state == SmsMessage.State.FAILED
    assert sms.attempts == 1
    assert sms.last_error == "invalid number"
    assert sms.body_encrypted == ""
    clock.advance(3600)
    assert send_pending_sms(gateway=gateway) == 0
    assert gateway.calls == 1


@pytest.mark.django_db
def test_r_o5_crashing_gateway_adapter_is_retried_like_a_network_error():
    member = member_without_queue()
    gateway = RecordingGateway([RuntimeError("bug in adapter")])
    sms = queue_sms(member.phone, "Kod 444555", member=member)
    send_pending_sms(gateway=gateway)
    sms.refresh_from_db()
    assert sms.state == SmsMessage.State.PENDING
    clock.advance(RETRY_DELAYS_SECONDS[0])
    send_pending_sms(gateway=gateway)
    sms.refresh_from_db()
    assert sms.state == SmsMessage.State.SENT


@pytest.mark.django_db
def test_r_o5_code_sms_not_sent_before_its_code_expired_is_given_up():
    """Decision: a code SMS is never delivered after its code stopped working."""
    member = member_without_queue()
    start_confirmation(TEST_OPERATION, member, details={}, channel="web", ctx=CTX)
    clock.advance(301)  # the worker was down for longer than the code lives
    gateway = RecordingGateway()
    assert send_pending_sms(gateway=gateway) == 1
    assert gateway.calls == 0
    sms = SmsMessage.objects.filter(member=member).order_by("-pk").first()
    assert sms.state == SmsMessage.State.EXPIRED
    assert sms.body_encrypted == ""
    assert AuditEvent.objects.filter(member_id=member.pk, event="sms_not_delivered").exists()


@pytest.mark.django_db
def test_r_o5_a_pass_sends_what_is_still_useful_first_and_gives_up_an_expired_code():
    """The one-statement claim takes only messages that may still be sent; the expired code
    queued before them is given up in the same pass, never sent."""
    member = member_without_queue()
    start_confirmation(TEST_OPERATION, member, details={}, channel="web", ctx=CTX)
    clock.advance(301)
    later = queue_sms(member.phone, "Haslo tymczasowe", member=member)
    gateway = RecordingGateway()
    assert send_pending_sms(gateway=gateway) == 2
    assert gateway.sent == [(member.phone, "Haslo tymczasowe")]
    states = dict(SmsMessage.objects.filter(member=member).values_list("pk", "state"))
    assert states.pop(later.pk) == SmsMessage.State.SENT
    assert list(states.values())[-1] == SmsMessage.State.EXPIRED


@pytest.mark.django_db
def test_r_o5_code_sms_is_given_up_when_the_next_retry_would_come_too_late():
    member = member_without_queue()
    start_confirmation(TEST_OPERATION, member, details={}, channel="web", ctx=CTX)
    gateway = RecordingGateway([temporary() for _ in range(10)])
    sms = SmsMessage.objects.filter(member=member).order_by("-pk").first()
    # Attempts at 0 s, 5 s, 35 s and 155 s fail; the next would be at 755 s, after expiry.
    for delay in (0, *RETRY_DELAYS_SECONDS[:3]):
        clock.advance(delay)
        assert send_pending_sms(gateway=gateway) == 1
    sms.refresh_from_db()
    assert sms.state == SmsMessage.State.EXPIRED
    assert sms.attempts == 4
    assert gateway.calls == 4
    assert sms.body_encrypted == ""


@pytest.mark.django_db
def test_r_o5_worker_that_died_mid_send_leaves_a_lease_that_runs_out():
    member = member_without_queue()
    sms = queue_sms(member.phone, "Kod 777888", member=member)

    class Killed(BaseException):
        pass

    with pytest.raises(Killed):
        send_pending_sms(gateway=RecordingGateway([Killed()]))
    gateway = RecordingGateway()
    assert send_pending_sms(gateway=gateway) == 0  # leased by the dead worker
    clock.advance(LEASE_SECONDS)
    assert send_pending_sms(gateway=gateway) == 1
    sms.refresh_from_db()
    assert sms.state == SmsMessage.State.SENT
    assert sms.attempts == 2


@pytest.mark.django_db
def test_r_o5_limit_caps_one_pass():
    member = member_without_queue()
    for i in range(5):
        queue_sms(member.phone, f"Kod {i}", member=member)
    gateway = RecordingGateway()
    assert send_pending_sms(3, gateway) == 3
    assert send_pending_sms(3, gateway) == 2
    # Oldest first.
    assert [text for _, text in gateway.sent] == [f"Kod {i}" for i in range(5)]


@pytest.mark.django_db(transaction=True)
def test_r_o5_r_x4_parallel_workers_send_each_message_once():
    member = member_without_queue()
    for i in range(12):
        queue_sms(member.phone, f"Kod {i:06d}", member=member)
    gateway = RecordingGateway()

    def work() -> None:
        try:
            send_pending_sms(50, gateway)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    texts = sorted(text for _, text in gateway.sent)
    assert texts == [f"Kod {i:06d}" for i in range(12)]
    assert SmsMessage.objects.filter(state=SmsMessage.State.SENT, member=member).count() == 13


@pytest.mark.django_db
def test_r_o5_a_worker_whose_lease_ran_out_does_not_record_over_the_next_one():
    """Worker A's lease ran out mid-send and worker B claimed the message: A's late answer is
    not recorded (B's lease holds it); B's is."""
    from skarbiec.otp.delivery import _claim_next_message, _record_sent

    member = member_without_queue()
    queue_sms(member.phone, "Kod 123123", member=member)
    first = _claim_next_message()
    clock.advance(LEASE_SECONDS)
    second = _claim_next_message()
    assert first is not None and second is not None and second.attempts == 2
    _record_sent(first, RecordingGateway(), "late-answer-of-a")
    sms = SmsMessage.objects.get(pk=first.pk)
    assert (sms.state, sms.gateway_message_id) == (SmsMessage.State.PENDING, "")
    _record_sent(second, RecordingGateway(), "answer-of-b")
    sms.refresh_from_db()
    assert (sms.state, sms.gateway_message_id) == (SmsMessage.State.SENT, "answer-of-b")
    _record_sent(first, RecordingGateway(), "late-answer-of-a")
    sms.refresh_from_db()
    assert sms.gateway_message_id == "answer-of-b"


def _start_code(member):
    return start_confirmation(
        TEST_OPERATION, member, details={"text": "Kod {code}"}, channel="web", ctx=CTX
    )


@pytest.mark.django_db
def test_r_o5_r_x7_a_code_replaced_before_it_went_out_is_never_sent():
    """The provider was down; the member asked for a new code; the provider is back. Only the
    new code goes out: the old one arriving after it would cost the member a wrong code."""
    member = member_without_queue()
    confirmation = _start_code(member)
    send_pending_sms(gateway=RecordingGateway([temporary()]))
    resend_code(TEST_OPERATION, confirmation.pk, member, CTX)
    gateway = RecordingGateway()
    clock.advance(RETRY_DELAYS_SECONDS[0])
    assert send_pending_sms(gateway=gateway) == 2
    assert [text for _, text in gateway.sent] == [f"Kod {last_code()}"]
    old, new = SmsMessage.objects.filter(member=member, give_up_at__isnull=False).order_by("pk")
    assert (old.state, old.body_encrypted) == (SmsMessage.State.EXPIRED, "")
    assert old.last_error == "code replaced or operation closed"
    assert new.state == SmsMessage.State.SENT
    # The old code never reached the member: it is not one of the operation's codes sent.
    assert Confirmation.objects.get(pk=confirmation.pk).codes_sent == 1
    event = AuditEvent.objects.get(member_id=member.pk, event="sms_not_delivered")
    assert event.credit_union_id == member.credit_union_id
    assert event.data == {
        "sms": old.pk,
        "state": SmsMessage.State.EXPIRED,
        "reason": "code replaced or operation closed",
    }


@pytest.mark.django_db
def test_r_x7_a_replaced_code_that_may_have_gone_out_stays_a_code_sent():
    """Its first try got no answer (it may have reached the member), then it was replaced:
    given up, it still counts among the operation's codes sent."""
    member = member_without_queue()
    confirmation = _start_code(member)
    unanswered = GatewayError("timeout", temporary=True, maybe_sent=True)
    send_pending_sms(gateway=RecordingGateway([unanswered]))
    resend_code(TEST_OPERATION, confirmation.pk, member, CTX)
    clock.advance(RETRY_DELAYS_SECONDS[0])
    assert send_pending_sms(gateway=RecordingGateway()) == 2
    old, new = SmsMessage.objects.filter(member=member, give_up_at__isnull=False).order_by("pk")
    assert (old.state, new.state) == (SmsMessage.State.EXPIRED, SmsMessage.State.SENT)
    assert Confirmation.objects.get(pk=confirmation.pk).codes_sent == 2


@pytest.mark.django_db
def test_r_o5_a_replaced_code_whose_lease_another_worker_took_is_left_to_it():
    """A worker whose lease ran out gives up nothing: the message is the later lease's."""
    member = member_without_queue()
    confirmation = _start_code(member)
    claimed = _claim_sendable_message()
    clock.advance(LEASE_SECONDS + 1)
    again = _claim_sendable_message()
    assert (claimed.pk, again.attempts) == (again.pk, claimed.attempts + 1)
    void_confirmations(member, TEST_OPERATION)
    with transaction.atomic():
        assert _give_up(claimed, SmsMessage.State.EXPIRED, "late") is False
    sms = SmsMessage.objects.get(pk=claimed.pk)
    assert (sms.state, sms.last_error) == (SmsMessage.State.PENDING, "")
    assert Confirmation.objects.get(pk=confirmation.pk).codes_sent == 1
    assert not AuditEvent.objects.filter(event="sms_not_delivered").exists()


@pytest.mark.django_db
def test_r_o5_a_code_whose_operation_closed_before_it_went_out_is_never_sent():
    member = member_without_queue()
    _start_code(member)
    void_confirmations(member, TEST_OPERATION)
    gateway = RecordingGateway()
    assert send_pending_sms(gateway=gateway) == 1
    assert gateway.sent == []
    assert SmsMessage.objects.filter(member=member).latest("pk").state == SmsMessage.State.EXPIRED


def _refused(maybe_sent: bool) -> GatewayError:
    return GatewayError("smsapi error 101", temporary=False, maybe_sent=maybe_sent)


@pytest.mark.django_db
def test_r_x7_codes_the_provider_never_delivered_do_not_use_up_the_resends(settings):
    """The provider refused every code (a bad token); once it is fixed the member can still
    ask for a code: a gateway's fault is not theirs to pay for (R-X6, R-X7)."""
    settings.OTP_SEND_LIMIT = (100, 600)
    member = member_without_queue()
    confirmation = _start_code(member)
    send_pending_sms(gateway=RecordingGateway([_refused(maybe_sent=False)]))
    for _ in range(codes_per_operation()):
        resend_code(TEST_OPERATION, confirmation.pk, member, CTX)
        send_pending_sms(gateway=RecordingGateway([_refused(maybe_sent=False)]))
    assert Confirmation.objects.get(pk=confirmation.pk).codes_sent == 0
    resend_code(TEST_OPERATION, confirmation.pk, member, CTX)
    gateway = RecordingGateway()
    assert send_pending_sms(gateway=gateway) == 1
    assert [text for _, text in gateway.sent] == [f"Kod {last_code()}"]
    assert Confirmation.objects.get(pk=confirmation.pk).codes_sent == 1


@pytest.mark.django_db
def test_r_x7_codes_tried_without_an_answer_use_up_the_resends(settings):
    """A try whose answer never came may have reached the member: it stays a code sent."""
    settings.OTP_SEND_LIMIT = (100, 600)
    member = member_without_queue()
    confirmation = _start_code(member)
    send_pending_sms(gateway=RecordingGateway([_refused(maybe_sent=True)]))
    for _ in range(codes_per_operation() - 1):
        resend_code(TEST_OPERATION, confirmation.pk, member, CTX)
        send_pending_sms(gateway=RecordingGateway([_refused(maybe_sent=True)]))
    with pytest.raises(OtpResendLimited):
        resend_code(TEST_OPERATION, confirmation.pk, member, CTX)


def _provider_down() -> RecordingGateway:
    """The provider answers every try with a temporary failure: each code waits for a retry."""
    return RecordingGateway([temporary() for _ in range(20)])


def _codes_of(confirmation) -> list[SmsMessage]:
    return list(SmsMessage.objects.filter(confirmation_id=confirmation.pk).order_by("pk"))


@pytest.mark.django_db
def test_r_x7_codes_waiting_for_a_retry_while_the_provider_is_down_do_not_use_up_the_resends(
    settings,
):
    """The provider is down and every code waits for its retry. The member asks for new codes
    as often as the operation allows, and once more: the codes that never left are taken back
    at once, not minutes later when the worker would try them again (R-X6, R-X7). Once the
    provider is back, only the newest code goes out."""
    settings.OTP_SEND_LIMIT = (100, 600)
    member = member_without_queue()
    confirmation = _start_code(member)
    send_pending_sms(gateway=_provider_down())
    for _ in range(codes_per_operation() - 1):
        resend_code(TEST_OPERATION, confirmation.pk, member, CTX)
        send_pending_sms(gateway=_provider_down())
    waiting = _codes_of(confirmation)
    assert [m.state for m in waiting] == [SmsMessage.State.PENDING] * codes_per_operation()
    assert all(m.next_attempt_at > clock.now() and m.sending_until is None for m in waiting)

    resend_code(TEST_OPERATION, confirmation.pk, member, CTX)

    assert Confirmation.objects.get(pk=confirmation.pk).codes_sent == 1
    *taken_back, newest = _codes_of(confirmation)
    assert {m.state for m in taken_back} == {SmsMessage.State.EXPIRED}
    assert {m.last_error for m in taken_back} == {"code replaced before it was sent"}
    assert newest.state == SmsMessage.State.PENDING
    assert (
        AuditEvent.objects.filter(event="sms_not_delivered", member_id=member.pk).count()
        == codes_per_operation()
    )
    gateway = RecordingGateway()
    clock.advance(RETRY_DELAYS_SECONDS[0] + 1)
    assert send_pending_sms(gateway=gateway) == 1
    assert [text for _, text in gateway.sent] == [f"Kod {last_code()}"]


@pytest.mark.django_db
def test_r_x7_a_code_being_handed_to_the_provider_is_not_taken_back(settings):
    """A code a worker is sending right now may reach the member: a resend beyond the limit
    waits for the try's outcome, and is given once that try failed (R-X7)."""
    settings.OTP_SEND_LIMIT = (100, 600)
    settings.OTP_CODES_PER_OPERATION = 1
    member = member_without_queue()
    confirmation = _start_code(member)
    on_its_way = _claim_sendable_message()
    assert on_its_way is not None and on_its_way.sending_until is not None

    with pytest.raises(OtpResendLimited):
        resend_code(TEST_OPERATION, confirmation.pk, member, CTX)
    assert SmsMessage.objects.get(pk=on_its_way.pk).state == SmsMessage.State.PENDING

    _record_failure(on_its_way, temporary())
    resend_code(TEST_OPERATION, confirmation.pk, member, CTX)
    assert SmsMessage.objects.get(pk=on_its_way.pk).state == SmsMessage.State.EXPIRED
    assert Confirmation.objects.get(pk=confirmation.pk).codes_sent == 1


@pytest.mark.django_db
def test_r_x7_a_code_tried_without_an_answer_is_not_taken_back_from_the_count(settings):
    """A try whose answer never came may have reached the member: waiting for its retry, it
    still uses up a resend."""
    settings.OTP_SEND_LIMIT = (100, 600)
    settings.OTP_CODES_PER_OPERATION = 1
    member = member_without_queue()
    confirmation = _start_code(member)
    unanswered = GatewayError("timeout", temporary=True, maybe_sent=True)
    send_pending_sms(gateway=RecordingGateway([unanswered]))
    with pytest.raises(OtpResendLimited):
        resend_code(TEST_OPERATION, confirmation.pk, member, CTX)


@pytest.mark.django_db
def test_r_x7_codes_replaced_while_the_provider_is_down_free_the_members_budget(settings):
    """The member's budget of codes (R-X7) counts codes on their way; one replaced while it
    waited for a retry is not, and a new code is given at once."""
    settings.OTP_SEND_LIMIT = (2, 600)
    member = member_without_queue()
    confirmation = _start_code(member)
    send_pending_sms(gateway=_provider_down())
    resend_code(TEST_OPERATION, confirmation.pk, member, CTX)
    send_pending_sms(gateway=_provider_down())

    resend_code(TEST_OPERATION, confirmation.pk, member, CTX)

    states = [m.state for m in _codes_of(confirmation)]
    assert states == [SmsMessage.State.EXPIRED, SmsMessage.State.PENDING, SmsMessage.State.PENDING]


@pytest.mark.django_db
def test_r_x7_an_operation_started_again_while_the_provider_is_down_is_not_refused(settings):
    """A web login begun again while its code waits for a retry replaces that code: the code
    never left, so starting again is not refused for codes sent (R-X7)."""
    settings.OTP_SEND_LIMIT = (100, 600)
    settings.OTP_CODES_PER_OPERATION = 1
    member = member_without_queue()
    first = _start_code(member)
    send_pending_sms(gateway=_provider_down())

    second = _start_code(member)

    assert [m.state for m in _codes_of(first)] == [SmsMessage.State.EXPIRED]
    assert Confirmation.objects.get(pk=second.pk).codes_sent == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
def test_r_x7_a_code_a_worker_holds_is_skipped_not_waited_for(settings):
    """A worker settling a replaced code holds its row, then its operation's: a resend, which
    holds the operation's row, must not wait for the message's, or the two would wait for each
    other. The code it skips stays counted until the worker settles it."""
    settings.OTP_SEND_LIMIT = (100, 600)
    settings.OTP_CODES_PER_OPERATION = 1
    member = member_without_queue()
    confirmation = _start_code(member)
    send_pending_sms(gateway=_provider_down())
    held, release = threading.Event(), threading.Event()

    def worker_holding_the_message() -> None:
        try:
            with transaction.atomic():
                SmsMessage.objects.select_for_update().get(confirmation_id=confirmation.pk)
                held.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=worker_holding_the_message)
    thread.start()
    try:
        assert held.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        with pytest.raises(OtpResendLimited):
            resend_code(TEST_OPERATION, confirmation.pk, member, CTX)
    finally:
        release.set()
        thread.join()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    resend_code(TEST_OPERATION, confirmation.pk, member, CTX)
    assert [m.state for m in _codes_of(confirmation)][0] == SmsMessage.State.EXPIRED


@pytest.mark.django_db
def test_r_x7_codes_never_delivered_are_taken_off_every_operation_that_carried_them(settings):
    """The provider was down while the member began a login again and again: each new one
    carried the codes sent of the last. Those codes were given up once it was back, but only
    their own operations counted one less, so the newest still held four, and the member, who
    got one code, was refused a new one and a new login for ten minutes (R-X6, R-X7)."""
    settings.OTP_SEND_LIMIT = (100, 600)
    member = member_without_queue()
    for _ in range(codes_per_operation()):
        newest = _start_code(member)
        send_pending_sms(gateway=_provider_down())
    assert Confirmation.objects.get(pk=newest.pk).codes_sent == codes_per_operation()

    clock.advance(RETRY_DELAYS_SECONDS[0] + 1)
    gateway = RecordingGateway()
    send_pending_sms(gateway=gateway)

    assert len(gateway.sent) == 1  # the newest code only
    assert Confirmation.objects.get(pk=newest.pk).codes_sent == 1
    resend_code(TEST_OPERATION, newest.pk, member, CTX)
    _start_code(member)  # and begun again, not refused


@pytest.mark.django_db
def test_r_x7_a_code_whose_worker_died_mid_send_still_counts(settings):
    """A worker killed while it handed a code to the provider leaves no outcome; the provider
    may have taken it. The next claim marks it as maybe sent: replaced meanwhile, it is given
    up, but it stays one of the codes sent and in the member's budget (R-X7)."""
    settings.OTP_SEND_LIMIT = (100, 600)
    settings.OTP_CODES_PER_OPERATION = 2
    member = member_without_queue()
    confirmation = _start_code(member)
    killed = _claim_sendable_message()
    assert killed is not None
    clock.advance(LEASE_SECONDS + 1)
    resend_code(TEST_OPERATION, confirmation.pk, member, CTX)
    send_pending_sms(gateway=RecordingGateway())

    given_up = SmsMessage.objects.get(pk=killed.pk)
    assert (given_up.state, given_up.maybe_sent) == (SmsMessage.State.EXPIRED, True)
    assert Confirmation.objects.get(pk=confirmation.pk).codes_sent == 2
    with pytest.raises(OtpResendLimited):
        resend_code(TEST_OPERATION, confirmation.pk, member, CTX)
