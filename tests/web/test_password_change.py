"""Forced change of a temporary password at first login (R-W1) with the rules R-P1, R-P2."""

import pytest
from tests.factories import make_member, password_matches
from tests.web.login_steps import PASSWORD, english_client, last_sms_code, log_in

from skarbiec.audit.models import AuditEvent

GOOD_NEW_PASSWORD = {"new_password": "Nowe#Haslo42", "repeated": "Nowe#Haslo42"}


@pytest.fixture
def new_member_client(client):
    member = make_member(must_change_password="yes")
    log_in(client, member)
    return client, member


@pytest.mark.django_db
def test_r_w1_first_login_leads_to_password_change_and_nothing_else(new_member_client):
    client, _member = new_member_client
    assert client.get("/start/")["Location"] == "/password/"
    assert client.get("/settings/")["Location"] == "/password/"
    page = client.get("/password/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Set your own password" in body
    assert "Settings" not in body  # no navigation while the temporary password stands
    assert client.get("/session/status/").status_code == 200


@pytest.mark.django_db
def test_r_p1_polish_diacritic_is_refused_naming_the_reason(new_member_client):
    client, member = new_member_client
    response = client.post("/password/", {"new_password": "Hasłoą#2024", "repeated": "Hasłoą#2024"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Polish letters with diacritics" in body
    assert "Hasłoą#2024" not in body  # never echoed
    member.refresh_from_db()
    assert member.must_change_password


@pytest.mark.django_db
def test_r_p2_too_short_and_diacritics_are_reported_together(new_member_client):
    client, _member = new_member_client
    response = client.post("/password/", {"new_password": "ąb1!", "repeated": "ąb1!"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "at least 8 characters" in body
    assert "Polish letters with diacritics" in body


@pytest.mark.django_db
def test_r_p2_mismatch_and_login_inside_are_listed_at_once(new_member_client):
    client, member = new_member_client
    password = f"A#{member.login}"
    response = client.post("/password/", {"new_password": password, "repeated": "x"})
    body = response.content.decode()
    assert "The two passwords are different." in body
    assert "must not contain your Login" in body


@pytest.mark.django_db
def test_r_w1_good_password_is_set_and_opens_the_service(new_member_client):
    client, member = new_member_client
    response = client.post(
        "/password/", {"new_password": "Nowe#Haslo42", "repeated": "Nowe#Haslo42"}
    )
    assert response.status_code == 302 and response["Location"] == "/start/"
    start = client.get("/start/")
    assert start.status_code == 200
    assert "Your new password is set" in start.content.decode()
    member.refresh_from_db()
    assert not member.must_change_password
    assert password_matches(member.web_password_hash, "Nowe#Haslo42")
    assert AuditEvent.objects.filter(member_id=member.pk, event="web_password_changed").exists()
    assert client.get("/password/")["Location"] == "/start/"


@pytest.mark.django_db
def test_r_w1_member_may_log_out_instead_of_changing_the_password(new_member_client):
    client, _member = new_member_client
    assert client.post("/logout/")["Location"] == "/"
    assert client.get("/password/")["Location"] == "/"


@pytest.mark.django_db
def test_empty_password_form_is_a_400(new_member_client):
    client, _member = new_member_client
    response = client.post("/password/", {"new_password": "", "repeated": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


@pytest.mark.django_db
def test_r_w1_setting_own_password_ends_other_sessions_and_cycles_the_key(new_member_client):
    """Someone who logged in elsewhere with the same temporary password must not carry on with
    the member's own password set; the session that set it goes on under a new key."""
    client, member = new_member_client
    other = english_client()
    log_in(other, member)
    assert other.get("/password/").status_code == 200
    key_before = client.session.session_key
    response = client.post("/password/", GOOD_NEW_PASSWORD)
    assert response["Location"] == "/start/"
    assert client.session.session_key != key_before
    assert client.get("/start/").status_code == 200
    response = other.get("/start/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert "password was changed" in other.get("/").content.decode()
    # The other session cannot replace the password the member has just set.
    assert (
        other.post("/password/", {"new_password": "Inne#Haslo77", "repeated": "Inne#Haslo77"})[
            "Location"
        ]
        == "/"
    )
    member.refresh_from_db()
    assert password_matches(member.web_password_hash, "Nowe#Haslo42")


@pytest.mark.django_db
def test_r_w1_a_login_waiting_for_its_code_does_not_finish_after_the_password_is_set(
    new_member_client,
):
    """Elsewhere someone passed the same temporary password and waits for the SMS code; the
    member sets their own password meanwhile: that code must not open a session."""
    client, member = new_member_client
    other = english_client()
    assert other.post("/login/", {"login": member.login, "password": PASSWORD}).status_code == 302
    code = last_sms_code(member)
    assert client.post("/password/", GOOD_NEW_PASSWORD)["Location"] == "/start/"
    other.post("/login/code/", {"code": code})
    assert other.get("/start/").status_code == 302


@pytest.mark.django_db
def test_r_p2_a_password_too_long_is_refused_by_the_rules_with_all_their_reasons(
    new_member_client,
):
    """150 characters were refused by the form field ("at most 128 characters", once per
    field) instead of the password rules: "8 to 15 characters" and the rest, at once."""
    client, member = new_member_client
    long_one = "Aa1#" * 37 + "ąb"
    response = client.post("/password/", {"new_password": long_one, "repeated": long_one})
    assert response.status_code == 400
    body = response.content.decode()
    assert "at most 15 characters" in body
    assert "Polish letters with diacritics" in body
    assert "at most 128" not in body and body.count("at most 15 characters") == 1
    member.refresh_from_db()
    assert member.must_change_password


@pytest.mark.django_db
def test_r_w1_the_first_login_refuses_the_temporary_password_as_the_new_one(client):
    """The first login forces a new password: the temporary one, which went out by SMS, was
    accepted again and then worked for good. It is compared with what this session typed at
    login, never with the stored hash, and counts as nothing (R-X6)."""
    member = make_member(must_change_password="yes")
    log_in(client, member)  # with the temporary password
    refused = client.post("/password/", {"new_password": PASSWORD, "repeated": PASSWORD})
    assert refused.status_code == 400
    assert "must differ from the temporary one" in refused.content.decode()
    member.refresh_from_db()
    assert member.must_change_password and password_matches(member.web_password_hash, PASSWORD)
    assert client.post("/password/", GOOD_NEW_PASSWORD).status_code == 302
    member.refresh_from_db()
    assert not member.must_change_password
