"""R-W7: security headers, cookies, CSRF on the internet service's pages."""

import re

import pytest
from django.test import Client
from tests.factories import make_member
from tests.web.login_steps import PASSWORD, english_client, log_in

from skarbiec.channels.models import WebChannel
from skarbiec.otp.models import SmsMessage


def _csrf_token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


@pytest.mark.django_db
def test_r_w7_security_headers_on_public_and_private_pages(client):
    member = make_member()
    landing = client.get("/")
    log_in(client, member)
    start = client.get("/start/")
    for response in (landing, start):
        csp = response["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert "no-store" in response["Cache-Control"]
    assert "Strict-Transport-Security" not in start  # only over HTTPS


@pytest.mark.django_db
def test_r_w7_hsts_over_https(client):
    response = client.get("/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.django_db
def test_r_w7_session_language_and_csrf_cookies_are_secure_httponly_samesite():
    member = make_member()
    c = Client()
    landing = c.get("/")
    csrf = landing.cookies["csrftoken"]
    assert csrf["secure"] and csrf["httponly"] and csrf["samesite"] == "Lax"
    c.post("/login/", {"login": member.login, "password": PASSWORD})
    session = c.cookies["skarbiec_session"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
    switched = c.post("/i18n/setlang/", {"language": "en", "next": "/"})
    language = switched.cookies["skarbiec_lang"]
    assert language["secure"] and language["samesite"] == "Lax"


@pytest.mark.django_db
def test_r_w7_login_with_tampered_csrf_token_is_refused_and_counts_nothing():
    member = make_member()
    c = english_client(enforce_csrf_checks=True)
    token = _csrf_token(c.get("/").content.decode())
    tampered = ("A" if token[0] != "A" else "B") + token[1:]
    sms_before = SmsMessage.objects.count()
    response = c.post(
        "/login/", {"login": member.login, "password": PASSWORD, "csrfmiddlewaretoken": tampered}
    )
    assert response.status_code == 403
    body = response.content.decode()
    assert "The form was not accepted" in body and "Nothing was changed." in body
    assert "no-store" in response["Cache-Control"]
    assert WebChannel.objects.get(member=member).failed_attempts == 0
    assert SmsMessage.objects.count() == sms_before
    # Without any token: refused as well.
    assert c.post("/login/", {"login": member.login, "password": PASSWORD}).status_code == 403
    # The genuine token works: the check refuses only forgeries.
    ok = c.post(
        "/login/", {"login": member.login, "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert ok.status_code == 302


@pytest.mark.django_db
def test_r_w7_forged_password_change_of_logged_in_member_changes_nothing():
    member = make_member(must_change_password="yes")
    c = english_client(enforce_csrf_checks=True)
    token = _csrf_token(c.get("/").content.decode())
    c.post("/login/", {"login": member.login, "password": PASSWORD, "csrfmiddlewaretoken": token})
    from tests.web.login_steps import last_sms_code

    token = _csrf_token(c.get("/login/code/").content.decode())
    c.post("/login/code/", {"code": last_sms_code(member), "csrfmiddlewaretoken": token})
    old_hash = member.web_password_hash
    response = c.post(
        "/password/",
        {
            "new_password": "Nowe#Haslo42",
            "repeated": "Nowe#Haslo42",
            "csrfmiddlewaretoken": "x" * 64,
        },
    )
    assert response.status_code == 403
    member.refresh_from_db()
    assert member.web_password_hash == old_hash and member.must_change_password
    # A forged logout does not end the session either.
    assert c.post("/logout/").status_code == 403
    assert c.get("/password/").status_code == 200


@pytest.mark.django_db
def test_r_w7_static_files_are_cacheable_pages_are_not(client):
    assert "no-store" in client.get("/").headers["Cache-Control"]
