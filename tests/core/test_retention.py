"""Bounded storage (R-X9): what expired is deleted by one schedule of purges, run by the SMS
worker every few minutes and by `skarbiec purge`; what still counts is kept."""

import io
import logging
import os
import signal
import threading
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.utils import timezone

from skarbiec.channels.mobile.challenges import issue_device_challenge
from skarbiec.channels.models import DeviceChallenge, MobileSession
from skarbiec.client import DeviceClient
from skarbiec.core import clock
from skarbiec.core.attempts import PasswordGuess, check_secret
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError
from skarbiec.core.models import RateLimitCounter
from skarbiec.core.throttling import UnknownLoginCounter, consume_rate_limit
from skarbiec.operations.retention import purge_expired_data
from skarbiec.otp.models import Confirmation, SmsMessage
from skarbiec.otp.operations import start_confirmation
from skarbiec.otp.sms import queue_sms
from tests.api.steps import PIN, ready_device
from tests.factories import make_member
from tests.otp.kinds import TEST_OPERATION

pytestmark = pytest.mark.django_db
ANONYMOUS = RequestContext(ip_address="10.9.0.1", channel="mobile")
HOUR = 3600


@pytest.fixture
def device(settings):
    settings.RATE_LIMIT_PER_ADDRESS = (1000, 60)
    client = DeviceClient.in_process(language="en")
    yield client
    client.close()


def _code(member, subject: str) -> Confirmation:
    return start_confirmation(
        TEST_OPERATION, member, details={}, channel="web", ctx=ANONYMOUS, subject=subject
    )


def _unknown_login_attempt(login: str) -> int:
    """One failed attempt for an unknown Login; returns the attempts left (0: blocked)."""
    counter = UnknownLoginCounter(
        "unknown-login", login, 3, wrong=lambda left: DomainError(attempts_left=left),
        blocked=lambda: DomainError(attempts_left=0),
    )  # fmt: skip
    with pytest.raises(DomainError) as e:
        check_secret(counter, PasswordGuess(None, "guess"))
    return int(e.value.details["attempts_left"])


def test_r_x9_anonymous_challenges_and_rate_limit_windows_do_not_stay_forever():
    issue_device_challenge(ANONYMOUS)  # what an anonymous POST /challenge leaves
    consume_rate_limit("login-addr", "10.9.0.1", 30, 60)
    _unknown_login_attempt("0000000000")
    assert purge_expired_data()["device_challenges_and_activations"] == 0
    clock.advance(2 * HOUR)
    fresh = issue_device_challenge(ANONYMOUS)
    purged = purge_expired_data()
    assert purged["device_challenges_and_activations"] == 1
    assert DeviceChallenge.objects.count() == 1  # the fresh one
    assert fresh.challenge
    assert purged["rate_limit_windows"] >= 1
    # Failed attempts of an unknown Login last like a real Login's block (R-T3).
    assert RateLimitCounter.objects.filter(window_start=0).count() == 1
    assert _unknown_login_attempt("0000000000") == 1


def test_r_x9_codes_that_expired_over_an_hour_ago_are_deleted_whatever_their_state():
    member = make_member()
    used_up = _code(member, "purge-test-a")
    never_typed = _code(member, "purge-test-b")
    Confirmation.objects.filter(pk=used_up.pk).update(state=Confirmation.State.CONFIRMED)
    clock.advance(HOUR)  # expired 55 minutes ago: kept
    assert purge_expired_data()["one_time_codes"] == 0
    clock.advance(10 * 60)
    live = _code(member, "purge-test-c")
    assert Confirmation.objects.get(pk=never_typed.pk).state == Confirmation.State.OPEN
    assert purge_expired_data()["one_time_codes"] == 2
    assert list(Confirmation.objects.filter(member=member)) == [live]


def test_r_x9_sms_records_are_kept_90_days_and_queued_ones_until_they_are_sent():
    member = make_member()  # its temporary password SMS, queued
    queued = SmsMessage.objects.get(member=member)
    sent = queue_sms(member.phone, "sent long ago", member)
    SmsMessage.objects.filter(pk=sent.pk).update(state=SmsMessage.State.SENT)
    clock.advance(90 * 24 * HOUR - 60)
    assert purge_expired_data()["sms_records"] == 0
    recent = queue_sms(member.phone, "sent lately", member)
    SmsMessage.objects.filter(pk=recent.pk).update(state=SmsMessage.State.SENT)
    clock.advance(120)
    assert purge_expired_data()["sms_records"] == 1
    assert set(SmsMessage.objects.values_list("pk", flat=True)) == {queued.pk, recent.pk}


def test_r_x9_expired_web_sessions_are_deleted():
    now = timezone.now()
    Session.objects.create(session_key="a" * 32, session_data="", expire_date=now - timedelta(1))
    Session.objects.create(session_key="b" * 32, session_data="", expire_date=now + timedelta(1))
    assert purge_expired_data()["web_sessions"] == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == ["b" * 32]


def test_r_x9_mobile_sessions_ended_over_a_day_ago_are_deleted(device):
    ready_device(device)
    device.logout()  # revoked now
    other = DeviceClient.in_process(language="en")
    ready_device(other)  # active, idle from now on
    assert purge_expired_data()["mobile_sessions"] == 0
    clock.advance(25 * HOUR)
    other.login_pin(PIN)  # a new session, in use
    assert purge_expired_data()["mobile_sessions"] == 2
    assert MobileSession.objects.count() == 1
    assert other.me()["device_id"] == other.device_id
    other.close()


def test_r_x9_purge_command_prints_and_logs_counts(caplog):
    issue_device_challenge(ANONYMOUS)
    clock.advance(2 * HOUR)
    out = io.StringIO()
    with caplog.at_level(logging.INFO, logger="skarbiec.operations.retention"):
        call_command("purge", stdout=out)
    assert "device_challenges_and_activations: 1" in out.getvalue()
    assert "one_time_codes: 0" in out.getvalue()
    assert "device_challenges_and_activations=1" in caplog.text


def test_r_x9_the_sms_worker_runs_the_purges():
    issue_device_challenge(ANONYMOUS)
    clock.advance(2 * HOUR)
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        call_command("worker", "--interval", "0.1", stdout=io.StringIO())
    finally:
        timer.cancel()
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
    assert not DeviceChallenge.objects.exists()
