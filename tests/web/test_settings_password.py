"""Settings → Change password over HTTP: the voluntary change of the internet service password,
confirmed with an SMS code (R-O1), with the password rules (R-P1, R-P2), the web lockout for
wrong current passwords (R-W2) and wrong codes (R-O4)."""

import pytest
from django.test import Client
from tests.factories import make_member
from tests.web.login_steps import PASSWORD, english_client, last_sms_code, log_in, wrong_code

from skarbiec.audit.models import AuditEvent
from skarbiec.channels.models import PendingWebPasswordChange, WebChannel
from skarbiec.core import clock
from skarbiec.members.models import Member
from skarbiec.otp.models import Confirmation, SmsMessage
from skarbiec.otp.sms import decrypt_body

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Nowe#Haslo2025"


@pytest.fixture
def member(client: Client) -> Member:
    member = make_member(first_name="Anna", last_name="Nowak")
    log_in(client, member)
    return member


def _request_change(
    client: Client,
    current: str = PASSWORD,
    new: str = NEW_PASSWORD,
    repeated: str | None = None,
):
    return client.post(
        "/settings/password/",
        {
            "current_password": current,
            "new_password": new,
            "repeated": new if repeated is None else repeated,
        },
    )


def _failed_attempts(member: Member) -> int:
    return WebChannel.objects.get(member=member).failed_attempts


def _password_hash(member: Member) -> str:
    return Member.objects.get(pk=member.pk).web_password_hash


def _login_answer(login: str, password: str) -> int:
    return english_client().post("/login/", {"login": login, "password": password}).status_code


def test_r_o1_settings_nav_links_to_change_password(client: Client, member: Member):
    page = client.get("/settings/channels/").content.decode()
    assert 'href="/settings/password/"' in page
    response = client.get("/settings/password/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Change password" in page and 'name="current_password"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    # Without the first step the code page leads back to it.
    assert client.get("/settings/password/code/")["Location"] == "/settings/password/"


def test_r_o1_change_web_password_with_sms_code(client: Client, member: Member):
    """R-O1: current + new password, then the SMS code naming the operation; the old password
    stops working and the new one logs in."""
    response = _request_change(client)
    assert response.status_code == 302
    assert response["Location"] == "/settings/password/code/"
    before = _password_hash(member)
    sms = decrypt_body(SmsMessage.objects.filter(member=member).latest("pk").body_encrypted)
    assert "internet service password" in sms or "hasł" in sms
    assert PendingWebPasswordChange.objects.filter(member=member).exists()

    response = client.post("/settings/password/code/", {"code": last_sms_code(member)})
    assert response.status_code == 302
    assert response["Location"] == "/settings/password/"
    assert _password_hash(member) != before
    assert not PendingWebPasswordChange.objects.filter(member=member).exists()
    page = client.get("/settings/password/").content.decode()
    assert "Your internet service password is changed" in page  # session kept
    assert AuditEvent.objects.filter(member_id=member.pk, event="web_password_changed").exists()

    assert _login_answer(member.login, PASSWORD) == 401
    log_in(english_client(), member, NEW_PASSWORD)


def test_r_o1_password_change_ends_other_web_sessions(client: Client, member: Member):
    other = english_client()
    log_in(other, member)
    assert other.get("/settings/password/").status_code == 200
    _request_change(client)
    client.post("/settings/password/code/", {"code": last_sms_code(member)})
    assert client.get("/settings/password/").status_code == 200
    response = other.get("/settings/password/")
    assert response.status_code == 302
    assert "password was changed" in other.get(response["Location"]).content.decode()


def test_r_w2_wrong_current_password_counted_and_third_blocks(client: Client, member: Member):
    """R-W2: a wrong current password counts toward the web lockout; the third one blocks the
    channel and ends the session; nothing is changed and no code is sent."""
    before = _password_hash(member)
    sent = SmsMessage.objects.filter(member=member).count()
    response = _request_change(client, current="Zle#haslo99")
    assert response.status_code == 400
    page = response.content.decode()
    assert "The current password is incorrect." in page and "2 attempts left" in page
    assert _failed_attempts(member) == 1
    response = _request_change(client, current="Zle#haslo98")
    assert "1 attempt left" in response.content.decode()
    response = _request_change(client, current="Zle#haslo97")
    assert response.status_code == 403
    assert "blocked" in response.content.decode()
    assert WebChannel.objects.get(member=member).state == "blocked"
    # The session ends with the block; the password stays and logging in is refused.
    assert client.get("/settings/password/")["Location"] == "/"
    assert _password_hash(member) == before
    assert SmsMessage.objects.filter(member=member).count() == sent
    assert _login_answer(member.login, PASSWORD) == 403


def test_r_w2_right_current_password_gives_the_attempt_back(client: Client, member: Member):
    _request_change(client, current="Zle#haslo99")
    assert _failed_attempts(member) == 1
    assert _request_change(client).status_code == 302
    assert _failed_attempts(member) == 1  # the attempt of this request was given back


@pytest.mark.parametrize(
    ("new", "expected"),
    [("zażółć gę", 2), ("Ab#1", 1)],
    ids=["diacritics-and-space", "too-short"],
)
def test_r_p1_r_p2_new_password_problems_listed_at_once(
    client: Client, member: Member, new: str, expected: int
):
    """R-P1, R-P2: every broken rule in one answer; no code is sent and nothing is changed."""
    before = _password_hash(member)
    sent = SmsMessage.objects.filter(member=member).count()
    response = _request_change(client, new=new)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="password-problems"' in page
    assert (
        page.count("<li>", page.index('id="password-problems"'), page.index('id="password-rules"'))
        >= expected
    )
    assert _password_hash(member) == before
    assert SmsMessage.objects.filter(member=member).count() == sent
    assert not PendingWebPasswordChange.objects.filter(member=member).exists()
    assert _failed_attempts(member) == 0  # the current password was right


def test_r_p1_new_password_equal_to_current_or_not_repeated_refused(client: Client, member: Member):
    response = _request_change(client, new=PASSWORD)
    assert response.status_code == 400
    assert "must differ from the current one" in response.content.decode()
    response = _request_change(client, repeated=NEW_PASSWORD + "x")
    assert response.status_code == 400
    assert "The two passwords are different." in response.content.decode()
    response = client.post("/settings/password/", {"new_password": NEW_PASSWORD})
    assert response.status_code == 400
    assert not PendingWebPasswordChange.objects.filter(member=member).exists()


def test_r_o1_wrong_code_refused_then_right_code_accepted(client: Client, member: Member):
    before = _password_hash(member)
    _request_change(client)
    code = last_sms_code(member)
    response = client.post("/settings/password/code/", {"code": wrong_code(code)})
    assert response.status_code == 400
    page = response.content.decode()
    assert "The SMS code is incorrect." in page and "2 attempts left" in page
    assert _password_hash(member) == before
    assert client.post("/settings/password/code/", {"code": code}).status_code == 302
    assert _password_hash(member) != before


def test_r_o1_expired_code_refused(client: Client, member: Member):
    """R-O3: a code is valid 5 minutes."""
    before = _password_hash(member)
    _request_change(client)
    code = last_sms_code(member)
    clock.advance(200)
    client.get("/settings/password/code/")  # keeps the session within the idle limit
    clock.advance(101)
    response = client.post("/settings/password/code/", {"code": code})
    assert response.status_code == 400
    page = response.content.decode()
    assert "expired" in page and 'href="/settings/password/"' in page
    assert _password_hash(member) == before
    assert _login_answer(member.login, NEW_PASSWORD) == 401


def test_r_o4_three_wrong_codes_cancel_and_count_one_web_failure(client: Client, member: Member):
    """R-O4 in the web: three wrong codes cancel the change and count one failure (R-W2)."""
    before = _password_hash(member)
    _request_change(client)
    code = last_sms_code(member)
    for _ in range(2):
        assert (
            client.post("/settings/password/code/", {"code": wrong_code(code)}).status_code == 400
        )
    response = client.post("/settings/password/code/", {"code": wrong_code(code)})
    assert response.status_code == 400
    assert "operation was cancelled" in response.content.decode()
    assert not PendingWebPasswordChange.objects.filter(member=member).exists()
    assert _failed_attempts(member) == 1
    assert WebChannel.objects.get(member=member).state == "active"
    # The right code no longer helps; the page leads back to the first step.
    response = client.post("/settings/password/code/", {"code": code})
    assert response["Location"] == "/settings/password/"
    assert _password_hash(member) == before


def test_r_o4_cancelled_change_can_be_the_failure_that_blocks(client: Client, member: Member):
    _request_change(client, current="Zle#haslo99")
    _request_change(client, current="Zle#haslo98")
    assert _failed_attempts(member) == 2
    _request_change(client)
    code = last_sms_code(member)
    for _ in range(2):
        client.post("/settings/password/code/", {"code": wrong_code(code)})
    response = client.post("/settings/password/code/", {"code": wrong_code(code)})
    assert response.status_code == 403
    assert WebChannel.objects.get(member=member).state == "blocked"


def test_r_o3_code_cannot_be_reused(client: Client, member: Member):
    """R-O3: single use: the used code cannot confirm a second change."""
    _request_change(client)
    code = last_sms_code(member)
    assert client.post("/settings/password/code/", {"code": code}).status_code == 302
    changed = _password_hash(member)
    # Replaying the same code against the same (used) code id through a second request.
    pending_otp = AuditEvent.objects.filter(member_id=member.pk, event="otp_issued").latest("pk")
    session = client.session
    session["settings_pending_web_password"] = pending_otp.data["confirmation"]
    session.save()
    response = client.post("/settings/password/code/", {"code": code})
    assert response.status_code == 400
    assert "expired or was already used" in response.content.decode()
    assert _password_hash(member) == changed


def test_r_o1_login_required(member: Member):
    anonymous = english_client()
    assert anonymous.get("/settings/password/")["Location"] == "/"
    assert anonymous.post("/settings/password/", {})["Location"] == "/"


def test_r_w6_failed_password_change_shown_in_security_events(client: Client, member: Member):
    """R-W2, R-W6: a wrong current password is a failure the member sees among security events."""
    _request_change(client, current="Zle#haslo99")
    page = client.get("/settings/security-events/").content.decode()
    assert "Failed attempt to change the internet service password" in page


def test_r_o1_change_password_page_in_polish_by_default(member: Member):
    """Polish is the default language: the page and the SMS speak Polish."""
    polish = Client()
    log_in(polish, member)
    page = polish.get("/settings/password/").content.decode()
    assert "Zmień hasło" in page and "Obecne hasło" in page
    assert (
        polish.post(
            "/settings/password/",
            {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "repeated": NEW_PASSWORD},
        ).status_code
        == 302
    )
    sms = decrypt_body(SmsMessage.objects.filter(member=member).latest("pk").body_encrypted)
    assert "zmiany hasła do serwisu internetowego" in sms


def _change_password(client: Client, member: Member) -> None:
    assert _request_change(client).status_code == 302
    response = client.post("/settings/password/code/", {"code": last_sms_code(member)})
    assert response.status_code == 302


def test_r_o1_r_w1_a_login_waiting_for_its_code_ends_with_the_password_it_passed(
    client: Client, member: Member
):
    """Outside review, 7 December: someone passed the old password elsewhere and waited for
    the SMS code while the member changed the password to shut them out; the code then opened
    a session with the replaced password. The change cancels that login."""
    other = english_client()
    assert other.post("/login/", {"login": member.login, "password": PASSWORD}).status_code == 302
    code = last_sms_code(member)
    _change_password(client, member)
    waiting = Confirmation.objects.filter(member=member, kind="web_login").latest("pk")
    assert waiting.state == Confirmation.State.VOIDED  # its code confirms nothing any more
    response = other.post("/login/code/", {"code": code})
    assert response.status_code == 409
    assert "your password or access changed meanwhile" in response.content.decode()
    assert other.get("/accounts/").status_code == 302  # no session
    assert client.get("/accounts/").status_code == 200  # the member's own one goes on
    # Not the member's mistake: nothing counted toward the lockout.
    assert _failed_attempts(member) == 0


def test_r_o1_r_w1_a_code_accepted_as_the_password_changes_opens_no_session(
    client: Client, member: Member, monkeypatch
):
    """The code was checked just before the change committed (its login not yet cancelled):
    under the channel's lock the login sees the password it passed is gone."""
    from skarbiec.channels.web import login as web_login

    other = english_client()
    other.post("/login/", {"login": member.login, "password": PASSWORD})
    code = last_sms_code(member)
    confirm_code = web_login.confirm_code

    def change_right_after_the_check(*args, **kwargs):
        confirmed = confirm_code(*args, **kwargs)
        _change_password(client, member)
        return confirmed

    monkeypatch.setattr(web_login, "confirm_code", change_right_after_the_check)
    response = other.post("/login/code/", {"code": code})
    assert response.status_code == 409
    assert other.get("/accounts/").status_code == 302
    events = AuditEvent.objects.filter(member_id=member.pk, event="web_login")
    assert events.count() == 1  # the member's own login only
