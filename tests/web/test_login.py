"""The login pages of the internet service: R-W1, R-W2, R-T3, R-O4 over real HTTP."""

import statistics
import time

import pytest
from django.test import Client
from tests.factories import make_member
from tests.web.login_steps import (
    PASSWORD,
    english_client,
    last_sms_code,
    log_in,
    page_without,
    wrong_code,
)

from skarbiec.audit.models import AuditEvent
from skarbiec.channels.models import WebChannel
from skarbiec.core import clock
from skarbiec.otp.models import SmsMessage

WRONG = "Wrong#pass1"


def _login(client: Client, login: str, password: str):
    return client.post("/login/", {"login": login, "password": password})


@pytest.mark.django_db
def test_r_w1_full_login_with_password_and_sms_code_from_the_outbox(client):
    member = make_member(first_name="Anna")
    response = _login(client, member.login, PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/login/code/"
    page = client.get("/login/code/")
    assert page.status_code == 200 and "Enter the SMS code" in page.content.decode()
    assert "You can enter the code 3 more times." in page.content.decode()
    # Not logged in after the password alone: the second factor is still missing.
    assert client.get("/start/")["Location"] == "/"

    response = client.post("/login/code/", {"code": last_sms_code(member)})
    assert response.status_code == 302 and response["Location"] == "/start/"
    start = client.get("/start/")
    assert start.status_code == 200
    body = start.content.decode()
    assert "Good day, Anna" in body
    assert "This is your first login" in body
    assert AuditEvent.objects.filter(member_id=member.pk, event="web_login").count() == 1
    # The landing page sends a logged-in member to the start page.
    assert client.get("/")["Location"] == "/start/"


@pytest.mark.django_db
def test_r_w1_start_page_shows_the_previous_login_time(client):
    member = make_member()
    log_in(client, member)
    client.post("/logout/")
    clock.advance(3600)
    log_in(client, member)
    body = client.get("/start/").content.decode()
    assert "Your previous login:" in body
    assert "This is your first login" not in body


@pytest.mark.django_db
def test_r_w1_session_key_is_cycled_at_each_login_step(client):
    from django.contrib.sessions.models import Session

    from skarbiec.web import session_store

    member = make_member()
    client.get("/")
    client.session.save()
    before = client.cookies["skarbiec_session"].value
    _login(client, member.login, PASSWORD)
    after_password = client.cookies["skarbiec_session"].value
    client.post("/login/code/", {"code": last_sms_code(member)})
    after_code = client.cookies["skarbiec_session"].value
    assert len({before, after_password, after_code}) == 3
    # A cookie from before a step opens nothing: its session is gone from the database.
    assert list(Session.objects.values_list("session_key", flat=True)) == [
        session_store.stored_key(after_code)
    ]


@pytest.mark.django_db
def test_r_w1_wrong_password_is_refused_with_attempts_left(client):
    member = make_member()
    response = _login(client, member.login, WRONG)
    assert response.status_code == 401
    body = response.content.decode()
    assert "The Login or password is incorrect." in body
    assert "2 attempts left." in body
    assert WRONG not in body  # the password is never sent back
    assert WebChannel.objects.get(member=member).failed_attempts == 1


@pytest.mark.django_db
def test_r_t3_unknown_login_and_wrong_password_render_identically(client):
    member = make_member()
    known = _login(client, member.login, WRONG)
    unknown = _login(english_client(), "1234567890", WRONG)
    assert known.status_code == unknown.status_code == 401
    assert page_without(known.content.decode(), member.login) == page_without(
        unknown.content.decode(), "1234567890"
    )


@pytest.mark.django_db
def test_r_t3_r_w2_a_channel_blocked_at_the_helpline_answers_like_an_unknown_login(client):
    """A block the guesser cannot have caused (the member's call to the helpline) is not
    shown to a wrong password: the page is the unknown Login's. The right password is told,
    with the helpline, and is not counted."""
    from skarbiec.channels.lifecycle import block_web_channel_on_request
    from skarbiec.core.context import RequestContext

    member = make_member()
    block_web_channel_on_request(member, RequestContext(ip_address="10.0.0.9", channel="web"))
    sms_before = SmsMessage.objects.filter(member=member).count()
    blocked = _login(client, member.login, WRONG)
    unknown = _login(english_client(), "1234567891", WRONG)
    assert blocked.status_code == unknown.status_code == 401
    assert page_without(blocked.content.decode(), member.login) == page_without(
        unknown.content.decode(), "1234567891"
    )
    response = _login(english_client(), member.login, PASSWORD)
    assert response.status_code == 403
    assert "Access to the internet service is blocked" in response.content.decode()
    assert "801 803 800" in response.content.decode()
    assert SmsMessage.objects.filter(member=member).count() == sms_before  # no code sent
    channel = WebChannel.objects.get(member=member)
    assert (channel.state, channel.failed_attempts) == (WebChannel.State.BLOCKED, 1)


@pytest.mark.django_db
def test_r_t3_unknown_login_and_wrong_password_take_similar_time(client):
    """Unknown Logins are checked against a dummy Argon2id hash (R-T3)."""
    member = make_member()
    other = make_member()
    _login(client, other.login, WRONG)  # warm up hasher, templates, dummy hash

    def timed(login: str) -> float:
        started = time.perf_counter()
        response = _login(client, login, WRONG)
        assert response.status_code in (401, 403)
        return time.perf_counter() - started

    known, unknown = [], []
    # Interleaved so load on the machine hits both alike; after the third try both answer
    # "blocked", and that answer too spends one Argon2id verification.
    for _ in range(7):
        known.append(timed(member.login))
        unknown.append(timed("5550000001"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.5 <= ratio <= 2.0, (known, unknown)


@pytest.mark.django_db
def test_r_w2_three_wrong_passwords_show_blocked_page_with_helpline(client):
    member = make_member()
    assert _login(client, member.login, WRONG).status_code == 401
    assert _login(client, member.login, WRONG).status_code == 401
    response = _login(client, member.login, WRONG)
    assert response.status_code == 403
    body = response.content.decode()
    assert "Access to the internet service is blocked" in body
    assert "801 803 800" in body and "58 782 59 00" in body
    assert 'href="tel:801803800"' in body
    channel = WebChannel.objects.get(member=member)
    assert channel.state == WebChannel.State.BLOCKED


@pytest.mark.django_db
def test_r_w1_an_expired_temporary_password_shows_whom_to_call(client, settings):
    member = make_member(must_change_password="yes")
    clock.advance(settings.TEMPORARY_PASSWORD_DAYS * 86400)
    response = _login(client, member.login, PASSWORD)
    assert response.status_code == 403
    body = response.content.decode()
    assert "Your temporary password has expired" in body
    assert 'href="tel:801803800"' in body
    assert WebChannel.objects.get(member=member).failed_attempts == 0


@pytest.mark.django_db
def test_r_w2_correct_password_after_the_block_is_still_refused(client):
    member = make_member()
    for _ in range(3):
        _login(client, member.login, WRONG)
    sms_before = SmsMessage.objects.filter(member=member).count()
    response = _login(client, member.login, PASSWORD)
    assert response.status_code == 403
    assert "801 803 800" in response.content.decode()
    assert SmsMessage.objects.filter(member=member).count() == sms_before  # no code sent
    assert client.get("/login/code/")["Location"] == "/"


@pytest.mark.django_db
def test_r_t3_unknown_login_is_blocked_after_three_tries_like_a_real_one(client):
    make_member()
    for _ in range(2):
        assert _login(client, "1234509876", WRONG).status_code == 401
    response = _login(client, "1234509876", WRONG)
    assert response.status_code == 403
    assert "801 803 800" in response.content.decode()


@pytest.mark.django_db
def test_empty_login_form_is_a_400_with_field_errors(client):
    response = client.post("/login/", {"login": "", "password": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert client.get("/login/").status_code == 405


@pytest.mark.django_db
def test_r_o3_expired_code_is_refused_and_a_new_one_works(client):
    member = make_member()
    _login(client, member.login, PASSWORD)
    code = last_sms_code(member)
    clock.advance(301)
    response = client.post("/login/code/", {"code": code})
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert client.get("/start/")["Location"] == "/"

    response = client.post("/login/code/resend/")
    assert response.status_code == 302 and response["Location"] == "/login/code/"
    assert "A new SMS code was sent" in client.get("/login/code/").content.decode()
    new_code = last_sms_code(member)
    assert client.post("/login/code/", {"code": code}).status_code == 400  # the old one is void
    response = client.post("/login/code/", {"code": new_code})
    assert response["Location"] == "/start/"


@pytest.mark.django_db
def test_r_o3_code_cannot_be_used_twice(client):
    member = make_member()
    _login(client, member.login, PASSWORD)
    code = last_sms_code(member)
    # A copy of the browser between the two steps (a stolen cookie) tries the same code.
    thief = english_client()
    thief.cookies["skarbiec_session"] = client.cookies["skarbiec_session"].value
    assert client.post("/login/code/", {"code": code})["Location"] == "/start/"
    response = thief.post("/login/code/", {"code": code})
    assert response.status_code == 302 and response["Location"] == "/"
    assert thief.get("/start/")["Location"] == "/"
    # A second submission in the member's own browser does not log in anew.
    assert client.post("/login/code/", {"code": code})["Location"] == "/"
    assert AuditEvent.objects.filter(member_id=member.pk, event="web_login").count() == 1


@pytest.mark.django_db
def test_r_o4_three_wrong_codes_cancel_the_login_and_count_toward_lockout(client):
    member = make_member()
    _login(client, member.login, PASSWORD)
    bad = wrong_code(last_sms_code(member))
    first = client.post("/login/code/", {"code": bad})
    assert first.status_code == 400
    assert "The SMS code is incorrect." in first.content.decode()
    assert "2 attempts left." in first.content.decode()
    assert "2 more times" in client.get("/login/code/").content.decode()  # remembered
    assert "1 attempt left." in client.post("/login/code/", {"code": bad}).content.decode()
    third = client.post("/login/code/", {"code": bad})
    assert third.status_code == 400
    assert "the operation was cancelled" in third.content.decode()
    assert 'action="/login/"' in third.content.decode()  # back at the password form
    assert client.get("/login/code/")["Location"] == "/"
    assert WebChannel.objects.get(member=member).failed_attempts == 1


@pytest.mark.django_db
def test_r_o4_cancelled_logins_add_up_to_a_block(client):
    member = make_member()
    for _ in range(3):
        _login(client, member.login, PASSWORD)
        bad = wrong_code(last_sms_code(member))
        for _ in range(3):
            response = client.post("/login/code/", {"code": bad})
    assert response.status_code == 403
    assert "801 803 800" in response.content.decode()
    assert WebChannel.objects.get(member=member).state == WebChannel.State.BLOCKED


@pytest.mark.django_db
def test_rate_limit_per_address_answers_429(client, settings, fresh_rate_limit_window):
    settings.RATE_LIMIT_PER_ADDRESS = (2, 60)
    member = make_member()
    other = make_member()
    assert _login(client, member.login, WRONG).status_code == 401
    assert _login(client, other.login, WRONG).status_code == 401
    response = _login(client, "1234567890", WRONG)
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    # Refused before the password was looked at: no attempt counted.
    assert WebChannel.objects.get(member=member).failed_attempts == 1


@pytest.mark.django_db
def test_rate_limit_per_login_answers_429_from_any_address(settings, fresh_rate_limit_window):
    settings.RATE_LIMIT_PER_LOGIN = (2, 60)
    member = make_member()
    for n in range(2):
        c = english_client(REMOTE_ADDR=f"10.0.0.{n + 1}")
        assert _login(c, member.login, WRONG).status_code == 401
    c = english_client(REMOTE_ADDR="10.0.0.9")
    response = _login(c, member.login, PASSWORD)
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert WebChannel.objects.get(member=member).failed_attempts == 2


@pytest.mark.django_db(transaction=True)
def test_r_w2_failed_attempt_is_committed_although_the_request_failed(client):
    """No test transaction around the request: what we read was really committed."""
    member = make_member()
    assert _login(client, member.login, WRONG).status_code == 401
    assert WebChannel.objects.get(member=member).failed_attempts == 1
    _login(client, member.login, PASSWORD)
    for _ in range(3):
        client.post("/login/code/", {"code": wrong_code(last_sms_code(member))})
    # The wrong password and the cancelled code confirmation both stay counted.
    assert WebChannel.objects.get(member=member).failed_attempts == 2


@pytest.mark.django_db(transaction=True)
def test_r_x7_wrong_codes_across_resends_count_three_in_total(client):
    """Hole 2 of the attack report: each resend gave three new attempts (6 wrong codes over 3
    resends, channel still active). Now one login has one budget of three wrong codes."""
    member = make_member()
    _login(client, member.login, PASSWORD)
    response = client.post("/login/code/", {"code": wrong_code(last_sms_code(member))})
    assert "2 attempts left." in response.content.decode()
    client.post("/login/code/resend/")
    # The code page after a resend still counts what was used.
    assert "2 more times" in client.get("/login/code/").content.decode()
    response = client.post("/login/code/", {"code": wrong_code(last_sms_code(member))})
    assert "1 attempt left." in response.content.decode()
    client.post("/login/code/resend/")
    third = client.post("/login/code/", {"code": wrong_code(last_sms_code(member))})
    assert third.status_code == 400
    assert "the operation was cancelled" in third.content.decode()
    assert WebChannel.objects.get(member=member).failed_attempts == 1
    # The newest code of the cancelled login is worth nothing.
    assert client.get("/login/code/")["Location"] == "/"


@pytest.mark.django_db(transaction=True)
def test_r_x6_r_x7_the_sms_send_limit_never_locks_out_a_right_password(client, settings):
    """Hole 3 of the attack report: with the send limit reached, the give-back of a right
    password rolled back with the refused code; nine right logins in ten minutes ended in a
    block. Now the refusal says how long to wait and counts nothing."""
    settings.OTP_SEND_LIMIT = (3, 600)  # below the four codes of one login (R-X7)
    member = make_member()
    answers = []
    for _ in range(9):
        response = _login(client, member.login, PASSWORD)
        answers.append(response.status_code)
        clock.advance(30)
    assert answers == [302] * 3 + [429] * 6
    assert "Try again in" in response.content.decode()
    channel = WebChannel.objects.get(member=member)
    assert channel.state == WebChannel.State.ACTIVE and channel.failed_attempts == 0
    assert not AuditEvent.objects.filter(member_id=member.pk, event="web_login_failed").exists()
    clock.advance(600)
    log_in(client, member)


@pytest.mark.django_db
def test_r_t3_an_unknown_logins_failures_counted_before_the_upgrade_go_on(client):
    """Counters were once named by a plain SHA-256 of the Login. A real Login's failures
    survive the upgrade that made them keyed hashes; so do an unknown one's, or trying it
    again after the upgrade would answer "2 attempts left" where a real one says 1."""
    import hashlib

    from skarbiec.core.models import RateLimitCounter

    unknown = "0000000042"
    RateLimitCounter.objects.create(
        key=f"unknown-login:{hashlib.sha256(unknown.encode()).hexdigest()[:40]}",
        window_start=0,
        count=1,
    )
    answer = _login(client, unknown, WRONG).content.decode()
    assert "1 attempt left." in answer
    # One counter, the old one renamed (beside it, the row keeping who answers for the Login).
    assert (
        RateLimitCounter.objects.filter(window_start=0, key__startswith="unknown-login:").count()
        == 1
    )


@pytest.mark.django_db
def test_r_x8_head_is_answered_wherever_get_is(client):
    """HTTP servers answer HEAD wherever they answer GET (RFC 9110): monitoring and link
    checkers use it. Member pages answered 405 while the back-office answered 200."""
    from tests.web.login_steps import log_in as log_in_member

    for page in ("/", "/get-the-app/", "/m/"):
        response = client.head(page)
        assert response.status_code == 200, page
        assert response.content == b"", page
    log_in_member(client, make_member())
    for page in ("/start/", "/accounts/"):
        response = client.head(page)
        assert response.status_code == 200, page
    # A form's page answers GET and POST only: its views tell a form sent from a page shown by
    # "not GET", and HEAD carries no CSRF token.
    assert client.head("/transfers/new/").status_code == 405
    assert client.head("/login/").status_code == 405  # POST only


@pytest.mark.django_db(transaction=True)
def test_r_x7_a_login_cancelled_at_its_code_step_lets_the_next_one_send_codes(client):
    """Every resend used, the page says: use the last code, or cancel and start again. Cancel
    left the login's operation open, so the login begun next was refused for ten minutes.
    Cancel now closes it, as for a transfer; its wrong code still counts on the next one."""
    member = make_member()
    _login(client, member.login, PASSWORD)
    client.post("/login/code/", {"code": wrong_code(last_sms_code(member))})
    for _ in range(3):
        client.post("/login/code/resend/")
    refused = client.post("/login/code/resend/")
    assert "cancel and start" in refused.content.decode()

    client.post("/logout/")
    assert _login(client, member.login, PASSWORD).status_code == 302
    response = client.post("/login/code/", {"code": wrong_code(last_sms_code(member))})
    assert "1 attempt left." in response.content.decode()
