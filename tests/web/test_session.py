"""Session limits of the internet service (R-W3): idle logout, absolute limit, countdown."""

import pytest
from django.test import Client
from tests.factories import make_member
from tests.web.login_steps import log_in

from skarbiec.audit.models import AuditEvent
from skarbiec.core import clock

IDLE_MESSAGE = "You were logged out after 5 minutes without activity."

GOOD_NEW_PASSWORD = {"new_password": "Nowe#Haslo42", "repeated": "Nowe#Haslo42"}


@pytest.mark.django_db
def test_r_w3_request_after_five_idle_minutes_lands_on_login_page_with_message(client):
    member = make_member()
    log_in(client, member)
    clock.advance(301)
    response = client.get("/start/")
    assert response.status_code == 302 and response["Location"] == "/"
    landing = client.get("/")
    body = landing.content.decode()
    assert IDLE_MESSAGE in body
    assert 'action="/login/"' in body
    # The message is shown once and the session is really gone.
    assert IDLE_MESSAGE not in client.get("/").content.decode()
    assert client.get("/start/")["Location"] == "/"
    event = AuditEvent.objects.filter(member_id=member.pk, event="web_logout").get()
    assert event.data == {"reason": "idle"}


@pytest.mark.django_db
def test_r_w3_activity_before_the_limit_keeps_the_session_alive(client):
    member = make_member()
    log_in(client, member)
    for _ in range(3):  # 870 s in total, never 300 s without a request (slack for a slow CI)
        clock.advance(290)
        assert client.get("/start/").status_code == 200
    clock.advance(300)
    assert client.get("/start/")["Location"] == "/"


@pytest.mark.django_db
def test_r_w3_refused_post_after_idle_limit_changes_nothing(client):
    member = make_member(must_change_password="yes")
    log_in(client, member)
    old_hash = member.web_password_hash
    clock.advance(301)
    response = client.post(
        "/password/", {"new_password": "Nowe#Haslo42", "repeated": "Nowe#Haslo42"}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    member.refresh_from_db()
    assert member.web_password_hash == old_hash and member.must_change_password


@pytest.mark.django_db
def test_r_w3_absolute_limit_ends_even_an_active_session(client):
    member = make_member()
    log_in(client, member)
    elapsed = 0
    while elapsed + 290 < 3600:
        clock.advance(290)
        elapsed += 290
        assert client.get("/start/").status_code == 200
    clock.advance(290)
    response = client.get("/start/")
    assert response["Location"] == "/"
    assert "maximum length of 60 minutes" in client.get("/").content.decode()
    assert AuditEvent.objects.filter(member_id=member.pk, event="web_logout").get().data == {
        "reason": "absolute"
    }


@pytest.mark.django_db
def test_r_w3_status_endpoint_reports_time_left_without_extending_the_session(client):
    member = make_member()
    log_in(client, member)
    clock.advance(200)
    status = client.get("/session/status/")
    assert status.status_code == 200
    # Real time passes too while the test runs: allow a second.
    assert status.json()["idle_timeout"] == 300
    assert 99 <= status.json()["remaining"] <= 100
    clock.advance(50)
    assert 49 <= client.get("/session/status/").json()["remaining"] <= 50
    clock.advance(51)
    expired = client.get("/session/status/")
    assert expired.status_code == 401
    assert expired.json()["expired"] is True
    assert expired["HX-Redirect"] == "/"
    assert IDLE_MESSAGE in client.get("/").content.decode()


@pytest.mark.django_db
def test_r_w3_stay_logged_in_extends_the_session(client):
    member = make_member()
    log_in(client, member)
    clock.advance(280)
    assert 299 <= client.post("/session/extend/").json()["remaining"] <= 300
    clock.advance(280)
    assert client.get("/start/").status_code == 200


@pytest.mark.django_db
def test_r_w3_htmx_request_after_the_limit_gets_401_with_hx_redirect(client):
    member = make_member()
    log_in(client, member)
    clock.advance(301)
    response = client.get("/start/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response["HX-Redirect"] == "/"


@pytest.mark.django_db
def test_r_w3_idle_limit_follows_the_credit_union_policy(client):
    member = make_member()
    member.credit_union.idle_timeout_seconds = 120
    member.credit_union.save()
    log_in(client, member)
    page = client.get("/start/").content.decode()
    assert 'data-idle-seconds="120"' in page
    clock.advance(121)
    assert client.get("/start/")["Location"] == "/"
    assert "logged out after 2 minutes without activity" in client.get("/").content.decode()


@pytest.mark.django_db
def test_r_w3_page_carries_the_countdown_without_inline_script(client):
    member = make_member()
    log_in(client, member)
    page = client.get("/start/").content.decode()
    assert "data-session-timer" in page and 'data-idle-seconds="300"' in page
    assert 'data-warn-seconds="60"' in page
    assert "/static/web/js/session-timer.js" in page
    assert "<script>" not in page and "onclick" not in page and "style=" not in page


@pytest.mark.django_db
def test_r_w3_near_the_absolute_limit_the_countdown_starts_from_what_is_left(client):
    """58 minutes of activity: the page counts down from the two minutes the session has left
    (and warns a minute before that end), not from the idle limit."""
    member = make_member()
    log_in(client, member)
    for _ in range(12):
        clock.advance(290)
        assert client.get("/start/").status_code == 200
    page = client.get("/start/").content.decode()
    left = client.get("/session/status/").json()["remaining"]
    assert 115 <= left <= 120
    assert f'data-left-seconds="{left}"' in page and f'data-absolute-seconds="{left}"' in page
    assert 'data-idle-seconds="300"' in page


@pytest.mark.django_db
def test_anonymous_visitor_is_sent_to_login_page(client):
    assert client.get("/start/")["Location"] == "/"
    assert client.get("/session/status/").status_code == 401
    assert client.get("/password/")["Location"] == "/"


@pytest.mark.django_db
def test_logout_ends_the_session(client):
    member = make_member()
    log_in(client, member)
    refused = client.get("/logout/")  # POST only: a link cannot log you out
    assert refused.status_code == 405 and refused["Allow"] == "POST"
    # R-X8, R-X5: a page in the member's language with the language switch, not an empty body.
    assert (
        "does not accept this kind" in refused.content.decode()
        and 'name="language"' in refused.content.decode()
    )
    response = client.post("/logout/")
    assert response["Location"] == "/"
    assert "You have logged out safely." in client.get("/").content.decode()
    assert client.get("/start/")["Location"] == "/"
    assert AuditEvent.objects.filter(member_id=member.pk, event="web_logout").get().data == {
        "reason": "logout"
    }


@pytest.mark.django_db
def test_r_w2_blocking_by_staff_ends_an_open_session(client):
    from tests.factories import CLI

    from skarbiec.channels.lifecycle import block_web_channel
    from skarbiec.channels.models import WebChannel

    member = make_member()
    log_in(client, member)
    channel = WebChannel.objects.select_related("member").get(member=member)
    block_web_channel(channel, "staff", CLI)
    assert client.get("/start/")["Location"] == "/"
    body = client.get("/").content.decode()
    assert "has been blocked" in body and "801 803 800" in body


@pytest.mark.django_db
def test_session_of_one_browser_does_not_open_another():
    member = make_member()
    first = Client()
    log_in(first, member)
    assert Client().get("/start/")["Location"] == "/"
