"""R-W1, R-W2, R-T3: web login rules at the service level."""

import re
import threading

import argon2
import pytest
from django.db import connection

from skarbiec.channels.errors import WebChannelBlocked, WrongCredentials
from skarbiec.channels.models import WebChannel
from skarbiec.channels.web.login import begin_web_login, complete_web_login
from skarbiec.core.context import RequestContext
from skarbiec.core.password_hashing import password_needs_rehash
from skarbiec.members.models import Member
from skarbiec.otp.errors import OtpAttemptsExhausted, OtpInvalid
from skarbiec.otp.models import SmsMessage
from skarbiec.otp.sms import decrypt_body
from tests.factories import make_member, password_matches

CTX = RequestContext(ip_address="10.1.1.1", channel="web")


def last_code(member) -> str:
    sms = SmsMessage.objects.filter(member=member).order_by("-pk").first()
    return re.search(r"\b(\d{6})\b", decrypt_body(sms.body_encrypted)).group(1)


@pytest.mark.django_db
def test_r_w1_password_then_sms_code_logs_in():
    member = make_member()
    pending = begin_web_login(member.login, "Start#2024pl", CTX)
    assert complete_web_login(pending, last_code(member), CTX).pk == member.pk


@pytest.mark.django_db
def test_r_w1_a_password_hashed_with_older_parameters_is_hashed_anew_at_login():
    """After an ARGON2_* upgrade a member's stored hash is replaced at their next login."""
    member = make_member()
    older = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("Start#2024pl")
    Member.objects.filter(pk=member.pk).update(web_password_hash=older)
    begin_web_login(member.login, "Start#2024pl", CTX)
    member.refresh_from_db()
    assert member.web_password_hash != older
    assert not password_needs_rehash(member.web_password_hash)
    assert password_matches(member.web_password_hash, "Start#2024pl")


@pytest.mark.django_db
def test_r_w2_three_wrong_passwords_block_and_correct_one_is_refused_after():
    member = make_member()
    for left in (2, 1):
        with pytest.raises(WrongCredentials) as e:
            begin_web_login(member.login, "Wrong#pass1", CTX)
        assert e.value.details["attempts_left"] == left
    with pytest.raises(WebChannelBlocked) as e:
        begin_web_login(member.login, "Wrong#pass1", CTX)
    assert "801 803 800" in e.value.details["helpline"]
    with pytest.raises(WebChannelBlocked):
        begin_web_login(member.login, "Start#2024pl", CTX)
    assert WebChannel.objects.get(member=member).failed_attempts == 3


@pytest.mark.django_db
def test_r_t3_unknown_login_walks_the_same_answers():
    make_member()
    with pytest.raises(WrongCredentials) as e:
        begin_web_login("1234567890", "Wrong#pass1", CTX)
    assert e.value.details["attempts_left"] == 2
    begin = [WrongCredentials, WebChannelBlocked]
    for expected in begin:
        with pytest.raises(expected):
            begin_web_login("1234567890", "Wrong#pass1", CTX)


@pytest.mark.django_db
def test_r_t3_r_b3_a_channel_blocked_at_the_helpline_walks_the_unknown_logins_answers():
    """Wrong passwords on a channel the member had blocked at the helpline get the unknown
    Login's answers. The third is the policy's limit: the block becomes one for wrong
    passwords, which the helpline's lift of the member's own block cannot end (it keeps the
    password and would give whoever guessed at it a fresh count, R-W2); staff unblock it with
    a new temporary password."""
    from skarbiec.audit.models import AuditEvent
    from skarbiec.channels.errors import NotBlockedOnRequest
    from skarbiec.channels.lifecycle import (
        block_web_channel_on_request,
        lift_web_block_on_request,
        unblock_web_channel,
    )

    member = make_member()
    block_web_channel_on_request(member, CTX)
    answers = {}
    for login in (member.login, "1234567892"):
        answers[login] = []
        for _ in range(3):
            with pytest.raises((WrongCredentials, WebChannelBlocked)) as e:
                begin_web_login(login, "Wrong#pass1", CTX)
            answers[login].append((e.value.code, e.value.details.get("attempts_left")))
    assert answers[member.login] == answers["1234567892"]
    assert [code for code, _left in answers[member.login]] == [
        "wrong_credentials", "wrong_credentials", "channel_blocked",
    ]  # fmt: skip
    channel = WebChannel.objects.get(member=member)
    assert (channel.failed_attempts, channel.block_reason) == (3, "wrong_passwords")
    blocks = AuditEvent.objects.filter(member_id=member.pk, event="web_channel_blocked")
    assert [e.data["reason"] for e in blocks.order_by("pk")] == [
        "member_request",
        "wrong_passwords",
    ]
    with pytest.raises(NotBlockedOnRequest):
        lift_web_block_on_request(member, CTX)
    with pytest.raises(WebChannelBlocked):  # the right password is still refused
        begin_web_login(member.login, "Start#2024pl", CTX)
    assert WebChannel.objects.get(member=member).state == WebChannel.State.BLOCKED
    unblock_web_channel(member, CTX)
    assert WebChannel.objects.get(member=member).state == WebChannel.State.ACTIVE


@pytest.mark.django_db
def test_r_t3_an_unknown_login_blocks_at_the_limit_of_the_credit_union_chosen_for_it(settings):
    """A credit union allowing five wrong passwords, with its own helpline: the unknown Logins
    it answers for walk its members' answers, not the installation default's."""
    settings.RATE_LIMIT_PER_ADDRESS = settings.RATE_LIMIT_PER_LOGIN = (1000, 60)
    from skarbiec.members.queries import credit_union_answering_for
    from tests.factories import make_credit_union

    make_credit_union()
    lenient = make_credit_union(max_web_password_failures=5, helpline_phones=["22 111 22 33"])
    member = make_member(credit_union=lenient)
    unknown = next(str(n) for n in range(5_000_000_000, 5_000_000_100)
                   if credit_union_answering_for(str(n)).pk == lenient.pk)  # fmt: skip

    def walk(login: str) -> list[tuple[str, object, object]]:
        answers = []
        for _ in range(6):
            with pytest.raises((WrongCredentials, WebChannelBlocked)) as e:
                begin_web_login(login, "Wrong#pass1", CTX)
            details = e.value.details
            answers.append((e.value.code, details.get("attempts_left"), details.get("helpline")))
        return answers

    assert walk(member.login) == walk(unknown)
    assert walk(unknown)[-1] == ("channel_blocked", None, ["22 111 22 33"])


@pytest.mark.django_db
def test_r_t3_an_unknown_login_keeps_its_answers_when_credit_unions_are_added(settings):
    """A member's Login names its own credit union's helpline and limit for ever; an unknown
    one must too, or adding a credit union to the installation would tell them apart."""
    settings.RATE_LIMIT_PER_ADDRESS = settings.RATE_LIMIT_PER_LOGIN = (1000, 60)
    from skarbiec.core.keys import keyed_hash
    from tests.factories import make_credit_union

    first = make_credit_union(helpline_phones=["22 111 11 11"])
    make_credit_union(helpline_phones=["22 222 22 22"])

    def chosen_among(login: str, n: int) -> int:  # credit_union_answering_for's index
        return int(keyed_hash("unknown-login-credit-union", login)[:12], 16) % n

    # Answered by the first of two now, and by another of five once three are added.
    unknown = next(str(n) for n in range(5_000_000_000, 5_000_001_000)
                   if chosen_among(str(n), 2) == 0 and chosen_among(str(n), 5) != 0)  # fmt: skip

    def answers(attempts: int) -> list[tuple[str, object, object]]:
        seen = []
        for _ in range(attempts):
            with pytest.raises((WrongCredentials, WebChannelBlocked)) as e:
                begin_web_login(unknown, "Wrong#pass1", CTX)
            details = e.value.details
            seen.append((e.value.code, details.get("attempts_left")))
            seen[-1] += (details.get("helpline"),)
        return seen

    # One wrong password, then the credit unions come; the walk goes on as it began.
    assert answers(1) == [("wrong_credentials", 2, None)]
    for n in range(3):
        make_credit_union(helpline_phones=[f"22 333 33 3{n}"], max_web_password_failures=5)
    blocked = ("channel_blocked", None, list(first.helpline_phones))
    assert answers(4) == [("wrong_credentials", 1, None), blocked, blocked, blocked]


@pytest.mark.django_db(transaction=True)
def test_r_x4_twenty_parallel_wrong_passwords_count_to_exactly_the_limit(settings):
    settings.RATE_LIMIT_PER_LOGIN = (1000, 60)
    settings.RATE_LIMIT_PER_ADDRESS = settings.RATE_LIMIT_PER_LOGIN = (1000, 60)
    member = make_member()
    outcomes: list[str] = []

    def attempt():
        try:
            begin_web_login(member.login, "Wrong#pass1", CTX)
            outcomes.append("ok")
        except (WrongCredentials, WebChannelBlocked) as e:
            outcomes.append(e.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    channel = WebChannel.objects.get(member=member)
    assert channel.failed_attempts == 3
    assert channel.state == WebChannel.State.BLOCKED
    assert "ok" not in outcomes
    assert outcomes.count("wrong_credentials") <= 2


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


@pytest.mark.django_db
def test_r_x7_r_w2_a_stolen_password_does_not_buy_fresh_codes_by_logging_in_again(settings):
    """Two wrong codes, then the password again: the new login keeps the two (R-X7), so each
    round of three wrong codes counts one failure and three rounds block (R-O4, R-W2)."""
    settings.RATE_LIMIT_PER_LOGIN = (1000, 60)  # fifteen requests in a minute, not the point
    member = make_member()
    for failures in (1, 2, 3):
        pending = begin_web_login(member.login, "Start#2024pl", CTX)
        for left in (2, 1):
            with pytest.raises(OtpInvalid) as e:
                complete_web_login(pending, _wrong(last_code(member)), CTX)
            assert e.value.details["attempts_left"] == left
        pending = begin_web_login(member.login, "Start#2024pl", CTX)
        assert pending.code_attempts == 1
        with pytest.raises((OtpAttemptsExhausted, WebChannelBlocked)):
            complete_web_login(pending, _wrong(last_code(member)), CTX)
        assert WebChannel.objects.get(member=member).failed_attempts == failures
    with pytest.raises(WebChannelBlocked):
        begin_web_login(member.login, "Start#2024pl", CTX)


@pytest.mark.django_db
def test_r_o1_r_b3_a_change_requested_before_a_block_is_not_confirmed_by_that_session_after_it():
    """Someone with the password (and the phone) asks for a new password; the member has the
    service blocked at the helpline, then lifted. The block ended that session: its code does
    not replace the password afterwards (a new session generation, checked under the lock)."""
    from skarbiec.channels.errors import LoginOvertaken
    from skarbiec.channels.lifecycle import block_web_channel_on_request, lift_web_block_on_request
    from skarbiec.channels.web.password import (
        confirm_web_password_change,
        request_web_password_change,
    )
    from tests.factories import CLI, password_matches

    member = make_member()
    session = WebChannel.objects.get(member=member).session_generation
    otp_id = request_web_password_change(
        member, "Start#2024pl", "Intruz#2024x", "Intruz#2024x", CTX
    )
    code = last_code(member)
    block_web_channel_on_request(member, CLI)
    lift_web_block_on_request(member, CLI)
    with pytest.raises(LoginOvertaken):
        confirm_web_password_change(member, otp_id, code, session, CTX)
    member.refresh_from_db()
    assert password_matches(member.web_password_hash, "Start#2024pl")
