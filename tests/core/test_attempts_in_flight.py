"""Attempts in flight (core/attempts.py): counted, committed, and not yet settled. The limit
admits no more than its attempts at once; the consequence counts settled failures only, so a
right secret still being compared is never a parallel wrong one's third failure (R-X6); an
attempt lost with its process is a failure, and nothing left over from it outlives a reset."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.db import connection

from skarbiec.audit.models import AuditEvent
from skarbiec.channels.models import MobileChannel, WebChannel
from skarbiec.channels.web.login import begin_web_login, complete_web_login
from skarbiec.client import ApiError, DeviceClient
from skarbiec.core import attempts, clock
from skarbiec.otp.models import Confirmation
from tests.api.steps import MOBILE_PASSWORD, PIN, last_code, member_with_channel, ready_device
from tests.core.test_attempts import (
    CTX,
    PASSWORD,
    _raises,
    _wrong,
    at_each_comparison,
    counter_seen_at_comparison,
    on_another_connection,
)
from tests.factories import make_member


@contextmanager
def attempts_nested(*attempts_in_order: Callable[[], object]) -> Iterator[list[str]]:
    """Each attempt starts while the one before it is being compared (counted, not settled)
    and runs to its end on another connection before that comparison: all are in flight at
    once and they settle in reverse order. Yields the nested attempts' outcomes, innermost
    first; the outermost one is run by the caller inside the block."""
    outcomes: list[str] = []
    waiting = list(attempts_in_order[1:])

    def next_one() -> None:
        if waiting:
            attempt = waiting.pop(0)
            outcomes.append(on_another_connection(lambda: _raises(attempt)))

    with at_each_comparison(next_one):
        yield outcomes


class Killed(BaseException):
    """The process dies at the comparison: nothing after it runs, not even the give-back."""


def lose_one(monkeypatch, attempt: Callable[[], object]) -> None:
    """Run `attempt` and lose it with its process: counted and committed, never settled."""

    def killed() -> None:
        raise Killed

    monkeypatch.setattr(attempts, "give_back", lambda counter: None)
    with at_each_comparison(killed), pytest.raises(Killed):
        attempt()
    monkeypatch.undo()


def f4_pin():
    device = DeviceClient.in_process(language="en")
    member = ready_device(device)
    state = lambda: MobileChannel.objects.get(member=member).state  # noqa: E731
    return (lambda: device.login_pin(PIN)), (lambda: device.login_pin("86420")), state


def f4_web_password():
    member = make_member()
    state = lambda: WebChannel.objects.get(member=member).state  # noqa: E731
    right = lambda: begin_web_login(member.login, PASSWORD, CTX)  # noqa: E731
    return right, (lambda: begin_web_login(member.login, "Wrong#pass1", CTX)), state


def f4_sms_code():
    member = make_member()
    pending = begin_web_login(member.login, PASSWORD, CTX)
    code = last_code(member)
    state = lambda: Confirmation.objects.get(pk=pending.otp_id).state  # noqa: E731
    return (
        (lambda: complete_web_login(pending, code, CTX)),
        (lambda: complete_web_login(pending, _wrong(code), CTX)),
        state,
    )


F4_SCENARIOS = {"PIN": f4_pin, "web password": f4_web_password, "SMS code": f4_sms_code}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", list(F4_SCENARIOS))
def test_r_x6_r_m5_a_right_secret_in_flight_is_not_counted_by_parallel_wrong_ones(name, _api):
    """A right secret and two wrong ones in flight at once (limit 3): the wrong ones settle
    first and must not count the right one, still being compared, as their third failure; the
    right one then goes through (nothing that is not the member's mistake counts, R-X6;
    R-M5, R-W2, R-X7)."""
    right, wrong, state = F4_SCENARIOS[name]()
    before = state()
    with attempts_nested(right, wrong, wrong) as outcomes:
        assert _raises(right) == "accepted", outcomes
    assert (
        outcomes
        == [
            {"PIN": "wrong_pin", "web password": "wrong_credentials", "SMS code": "otp_invalid"}[
                name
            ]
        ]
        * 2
    )
    assert state() in (before, Confirmation.State.CONFIRMED)


@pytest.mark.django_db(transaction=True)
def test_r_m5_r_x6_three_wrong_pins_in_flight_block_when_the_last_settles(_api):
    """Only in-flight attempts that turn out right are spared: three wrong ones in flight
    block the app once all three have settled."""
    right, wrong, state = f4_pin()
    with attempts_nested(wrong, wrong, wrong) as outcomes:
        last = _raises(wrong)
    assert outcomes == ["wrong_pin", "wrong_pin"] and last == "channel_blocked"
    assert state() == MobileChannel.State.BLOCKED
    assert _raises(right) == "channel_blocked"


@pytest.mark.django_db(transaction=True)
def test_r_m5_r_x6_an_attempt_lost_with_its_process_holds_its_place_then_is_given_back(
    _api, monkeypatch
):
    """A process killed between the count and the comparison (or a database gone before the
    give-back) is not the member's mistake. While the attempt may still be in comparison it
    holds its place under the limit: a fourth attempt is refused uncompared, told to try
    again when the place is free (not that the app is blocked: it is not). A minute on, it
    is given back: the member's right PIN logs in, nothing is blocked."""
    monkeypatch.setattr(attempts, "SETTLE_WAIT_SECONDS", 0.05)
    right, wrong, state = f4_pin()
    assert _raises(wrong) == "wrong_pin"
    assert _raises(wrong) == "wrong_pin"

    lose_one(monkeypatch, right)
    with counter_seen_at_comparison(lambda: 0) as seen:
        with pytest.raises(ApiError) as refused:
            right()
    assert (refused.value.status, refused.value.code) == (429, "rate_limited")
    assert 55 <= refused.value.body["retry_after"] <= attempts.IN_FLIGHT_SECONDS
    assert seen == [] and state() == MobileChannel.State.ACTIVE
    clock.advance(attempts.IN_FLIGHT_SECONDS + 1)
    try:
        assert _raises(right) == "accepted"
    finally:
        clock.reset()
    assert state() == MobileChannel.State.ACTIVE
    assert not AuditEvent.objects.filter(event="mobile_channel_blocked").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", list(F4_SCENARIOS))
def test_r_x6_an_attempt_lost_long_ago_is_no_failure(name, _api, monkeypatch):
    """A lost attempt a minute old counts against nobody, whichever way the mechanism counts:
    three more wrong ones are needed for the consequence, and the third has it."""
    right, wrong, state = F4_SCENARIOS[name]()
    before = state()
    lose_one(monkeypatch, wrong)
    clock.advance(attempts.IN_FLIGHT_SECONDS + 1)
    try:
        outcomes = [_raises(wrong) for _ in range(3)]
    finally:
        clock.reset()
    assert outcomes[:2] == [outcomes[0]] * 2 and outcomes[2] != outcomes[0], outcomes
    assert state() != before


@pytest.mark.django_db(transaction=True)
def test_r_m5_an_attempt_lost_before_a_success_is_no_failure_after_it(_api, monkeypatch):
    """A success resets the consecutive failures (R-M5), the attempts in flight included: a PIN
    lost with its process just before the member logs in is not a failure a minute later, so
    two wrong PINs after the success leave the app open."""
    right, wrong, state = f4_pin()
    lose_one(monkeypatch, right)
    assert _raises(right) == "accepted"
    clock.advance(attempts.IN_FLIGHT_SECONDS + 1)
    try:
        assert [_raises(wrong), _raises(wrong)] == ["wrong_pin", "wrong_pin"]
    finally:
        clock.reset()
    assert state() == MobileChannel.State.ACTIVE


@pytest.mark.django_db(transaction=True)
def test_r_w2_a_completed_login_leaves_no_lost_attempt_to_hide_a_failure(_api, monkeypatch):
    """A web login completed after a lost password attempt starts the count again from zero,
    the attempts in flight included: three wrong passwords then block the channel at the
    third, not one later (R-W2)."""
    member = make_member()
    lose_one(monkeypatch, lambda: begin_web_login(member.login, "Wrong#pass1", CTX))
    complete_web_login(begin_web_login(member.login, PASSWORD, CTX), last_code(member), CTX)
    wrong = lambda: begin_web_login(member.login, "Wrong#pass1", CTX)  # noqa: E731
    assert [_raises(wrong) for _ in range(3)][-1] == "channel_blocked"
    assert WebChannel.objects.get(member=member).state == WebChannel.State.BLOCKED


@pytest.mark.django_db(transaction=True)
def test_r_x6_r_o4_wrong_codes_do_not_count_a_right_password_in_flight(_api):
    """Three wrong codes count one web failure (R-O4): settled while the member's right
    password is being compared in another tab, that failure must not take the password's
    count for a third one. One wrong password and one cancelled login are two failures."""
    member = make_member()
    assert _raises(lambda: begin_web_login(member.login, "Wrong#pass1", CTX)) == (
        "wrong_credentials"
    )
    pending = begin_web_login(member.login, PASSWORD, CTX)
    wrong = lambda: complete_web_login(pending, _wrong(last_code(member)), CTX)  # noqa: E731
    assert [_raises(wrong), _raises(wrong)] == ["otp_invalid", "otp_invalid"]
    with attempts_nested(lambda: None, wrong) as nested:
        right = _raises(lambda: begin_web_login(member.login, PASSWORD, CTX))
    assert nested == ["otp_attempts_exhausted"] and right == "accepted"
    assert WebChannel.objects.get(member=member).state == WebChannel.State.ACTIVE


def _restarted_while_in_flight(attempt: Callable[[], object], restart: Callable[[], object]):
    """Run `attempt`; while its code is being compared, start the operation again elsewhere.
    Returns (the restart's outcome, the attempt's outcome)."""
    with attempts_nested(lambda: None, restart) as nested:
        outcome = _raises(attempt)
    return nested[0], outcome


@pytest.mark.django_db(transaction=True)
def test_r_x7_r_o4_a_web_login_is_not_begun_again_while_its_last_code_is_checked(_api):
    """Begun again while its third wrong code is being compared, a web login would void the
    operation under it: the code would settle on a closed one without its consequence, and the
    new login would start with no attempt left. The restart is refused (not the member's
    mistake, 409); the third code cancels the login and counts its web failure (R-X7, R-O4)."""
    member = make_member()
    pending = begin_web_login(member.login, PASSWORD, CTX)
    wrong = lambda: complete_web_login(pending, _wrong(last_code(member)), CTX)  # noqa: E731
    assert [_raises(wrong), _raises(wrong)] == ["otp_invalid", "otp_invalid"]
    restart = lambda: begin_web_login(member.login, PASSWORD, CTX)  # noqa: E731
    assert _restarted_while_in_flight(wrong, restart) == (
        "code_being_checked",
        "otp_attempts_exhausted",
    )
    assert WebChannel.objects.get(member=member).failed_attempts == 1
    assert AuditEvent.objects.filter(event="web_login_failed").count() == 1
    # Once settled, the member starts again and the right code of the new login is taken.
    again = begin_web_login(member.login, PASSWORD, CTX)
    assert _raises(lambda: complete_web_login(again, last_code(member), CTX)) == "accepted"


@pytest.mark.django_db(transaction=True)
def test_r_x6_a_right_code_in_flight_is_not_taken_as_wrong_by_a_restart(_api):
    """The member's right code is being compared (two wrong ones before it) when another tab
    begins the login again: the restart waits for it, and the code logs the member in."""
    member = make_member()
    pending = begin_web_login(member.login, PASSWORD, CTX)
    code = last_code(member)
    wrong = lambda: complete_web_login(pending, _wrong(code), CTX)  # noqa: E731
    assert [_raises(wrong), _raises(wrong)] == ["otp_invalid", "otp_invalid"]
    restart = lambda: begin_web_login(member.login, PASSWORD, CTX)  # noqa: E731
    right = lambda: complete_web_login(pending, code, CTX)  # noqa: E731
    assert _restarted_while_in_flight(right, restart) == ("code_being_checked", "accepted")


@pytest.mark.django_db(transaction=True)
def test_r_x7_an_older_operation_begun_again_while_its_code_is_checked_waits_for_it(_api):
    """A payee's operation with one wrong code, another payee's begun after it (the newest,
    carrying that one): the first begun again while its second wrong code is compared would
    carry one wrong code, and the second would settle on the operation it voids. The restart
    waits for it; then it carries both."""
    from tests.otp import kinds
    from tests.otp.test_operations import confirm, start, wrong

    member = make_member()
    first = start(member, subject="A")
    code = kinds.last_code()
    assert _raises(lambda: confirm(member, first, wrong(code))) == "otp_invalid"
    assert start(member, subject="B").failed_codes == 1
    attempt = lambda: confirm(member, first, wrong(code))  # noqa: E731
    restart = lambda: start(member, subject="A")  # noqa: E731
    assert _restarted_while_in_flight(attempt, restart) == ("code_being_checked", "otp_invalid")
    assert start(member, subject="A").failed_codes == 2


@pytest.mark.django_db(transaction=True)
def test_r_o4_an_activation_is_not_begun_again_while_its_last_code_is_checked(_api):
    """Someone with the Login and the mobile-app password but not the SIM sends the third
    wrong activation code and starts the activation again while it is compared: the restart
    is refused and the third code blocks the app, as three wrong codes must (R-O4)."""
    member = member_with_channel()
    device = DeviceClient.in_process(language="en")
    device.activate(member.login, MOBILE_PASSWORD)
    code = last_code(member)
    wrong = lambda: device.confirm_activation(_wrong(code))  # noqa: E731
    assert [_raises(wrong), _raises(wrong)] == ["otp_invalid", "otp_invalid"]
    other = DeviceClient.in_process(language="en")
    restart = lambda: other.activate(member.login, MOBILE_PASSWORD)  # noqa: E731
    assert _restarted_while_in_flight(wrong, restart) == ("code_being_checked", "channel_blocked")
    assert MobileChannel.objects.get(member=member).state == MobileChannel.State.BLOCKED
    assert Confirmation.objects.filter(member=member, kind="mobile_device_activation").count() == 1


@pytest.mark.django_db(transaction=True)
def test_r_x6_a_database_gone_before_the_give_back_leaves_no_failure(_api, monkeypatch):
    """The right PIN is counted, then the database goes away while the session is opened: the
    answer is 503 and the give-back cannot commit either. That attempt is not the member's
    mistake (R-X6): it is no failure, and three wrong PINs later are needed to block."""
    from contextlib import ExitStack

    from django.db import OperationalError

    from skarbiec.channels.mobile import pin
    from skarbiec.client import ApiError
    from tests.outage import database_unreachable

    right, wrong, state = f4_pin()
    outage = ExitStack()

    def session_while_the_database_goes_away(*args, **kwargs):
        outage.enter_context(database_unreachable())
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(pin, "open_session", session_while_the_database_goes_away)
    try:
        with pytest.raises(ApiError) as refused:
            right()
        assert refused.value.status == 503
    finally:
        outage.close()
    monkeypatch.undo()
    assert [_raises(wrong), _raises(wrong)] == ["wrong_pin", "wrong_pin"]
    assert state() == MobileChannel.State.ACTIVE
    clock.advance(attempts.IN_FLIGHT_SECONDS + 1)
    try:
        assert _raises(right) == "accepted"
    finally:
        clock.reset()


@pytest.mark.django_db(transaction=True)
def test_r_x6_r_x7_a_lost_code_is_no_wrong_code_of_the_login_begun_again(_api, monkeypatch):
    """The member's right code is lost with its process; a minute on the member begins the
    login again. The new login keeps the wrong codes of the one before (R-X7), and the lost
    one is none of them (R-X6): three attempts again."""
    member = make_member()
    pending = begin_web_login(member.login, PASSWORD, CTX)
    code = last_code(member)
    lose_one(monkeypatch, lambda: complete_web_login(pending, code, CTX))
    clock.advance(attempts.IN_FLIGHT_SECONDS + 1)
    try:
        again = begin_web_login(member.login, PASSWORD, CTX)
    finally:
        clock.reset()
    assert again.code_attempts == 3
    assert Confirmation.objects.get(pk=again.otp_id).failed_codes == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: SQLite queues writers")
def test_r_o4_r_x7_a_wrong_code_settles_even_as_a_deadlock_victim(_api):
    """The third wrong code of a password change settles (locks the operation, then the web
    channel) while the change is requested again (locks the channel, then the operation): the
    database breaks the deadlock by failing the settlement. A code known to be wrong must not
    be left in flight to be given back a minute later: the settlement runs again, the change
    is cancelled, and the right code confirms nothing (R-O4, R-X7)."""
    import threading
    import time

    from django.db import transaction

    from skarbiec.channels.web.password import (
        WEB_PASSWORD_CHANGE,
        confirm_web_password_change,
        request_web_password_change,
    )
    from skarbiec.core.locks import for_update
    from skarbiec.otp.operations import start_confirmation

    member = make_member()
    otp_id = request_web_password_change(member, PASSWORD, "Nowe#Haslo42", "Nowe#Haslo42", CTX)
    code = last_code(member)
    session = WebChannel.objects.get(member=member).session_generation
    wrong = lambda: confirm_web_password_change(member, otp_id, _wrong(code), session, CTX)  # noqa: E731
    assert [_raises(wrong), _raises(wrong)] == ["otp_invalid", "otp_invalid"]
    locked = threading.Event()
    restarted: list[str] = []

    def request_again_elsewhere() -> None:
        # request_web_password_change's transaction, in its lock order.
        try:
            with transaction.atomic():
                for_update(WebChannel.objects).get(member=member)
                locked.set()
                time.sleep(0.3)  # the third code's settlement now waits for this row
                start_confirmation(
                    WEB_PASSWORD_CHANGE, member, details={"member": member.pk},
                    channel="web", ctx=CTX,
                )  # fmt: skip
            restarted.append("restarted")
        except Exception as error:  # noqa: BLE001 - either side may be the victim
            restarted.append(getattr(error, "code", type(error).__name__))
        finally:
            connection.close()

    thread = threading.Thread(target=request_again_elsewhere)

    def at_the_third_comparison() -> None:
        if not thread.is_alive() and not restarted:
            thread.start()
            locked.wait(5)

    with at_each_comparison(at_the_third_comparison):
        third = _raises(wrong)
    thread.join()
    assert third == "otp_attempts_exhausted", (third, restarted)
    clock.advance(attempts.IN_FLIGHT_SECONDS + 1)
    try:
        assert _raises(lambda: confirm_web_password_change(member, otp_id, code, session, CTX)) != (
            "accepted"
        )
    finally:
        clock.reset()


@pytest.mark.django_db
def test_r_x6_a_wrong_secret_settles_before_its_place_could_be_given_back(settings):
    """A secret proven wrong must settle as a failure before its place in flight could be
    given back as lost: every settlement try may wait out the longest lock wait (SQLite's busy
    timeout, PostgreSQL's lock_timeout) behind a long write, and all of them together end
    within the in-flight window."""
    wait = settings.DATABASE_LOCK_WAIT_SECONDS
    if connection.vendor == "sqlite":
        assert settings.DATABASES["default"]["OPTIONS"]["timeout"] == wait
    else:
        with connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            assert cursor.fetchone()[0] == f"{wait}s"
    assert attempts.SETTLEMENT_TRIES * (wait + 1) < attempts.IN_FLIGHT_SECONDS
