"""R-X5: Polish by default, English on request; the switch is on every page."""

import re

import pytest
from django.test import Client
from tests.factories import make_member
from tests.web.login_steps import log_in


@pytest.mark.django_db
def test_r_x5_polish_is_the_default_language():
    response = Client().get("/")
    body = response.content.decode()
    assert '<html lang="pl">' in body
    assert response["Content-Language"] == "pl"
    # The page is in Polish, not the English source texts.
    assert "Log in to the internet service" not in body
    assert "Login" in body


@pytest.mark.django_db
def test_r_x5_language_switch_to_english_and_back():
    c = Client()
    page = c.get("/").content.decode()
    assert 'action="/i18n/setlang/"' in page and 'value="en"' in page
    response = c.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    english = c.get("/")
    assert english["Content-Language"] == "en"
    body = english.content.decode()
    assert '<html lang="en">' in body
    assert "Log in to the internet service" in body
    assert (
        'value="en" lang="en"\n                    class="lang-option" aria-current="true"' in body
    )
    c.post("/i18n/setlang/", {"language": "pl", "next": "/"})
    assert c.get("/")["Content-Language"] == "pl"


@pytest.mark.django_db
def test_r_x5_switch_keeps_the_page_and_refuses_foreign_next():
    c = Client()
    response = c.post("/i18n/setlang/", {"language": "en", "next": "https://evil.example/"})
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_r_x5_switch_is_on_every_page_for_members_too(client):
    member = make_member(must_change_password="yes")
    log_in(client, member)
    for url in ("/password/",):
        assert 'action="/i18n/setlang/"' in client.get(url).content.decode()
    # Switching the language is allowed while the temporary password is being replaced.
    response = client.post("/i18n/setlang/", {"language": "pl", "next": "/password/"})
    assert response["Location"] == "/password/"
    client.post("/password/", {"new_password": "Nowe#Haslo42", "repeated": "Nowe#Haslo42"})
    for url in ("/start/",):
        assert 'action="/i18n/setlang/"' in client.get(url).content.decode()
    assert 'action="/i18n/setlang/"' in client.get("/login/code/", follow=True).content.decode()


@pytest.mark.parametrize(
    "refused",
    [
        "GET / with a NUL in its query (400)",
        "POST /login/ of a form over 32 KiB (413)",
        "POST /login/ of over a thousand fields (400)",
        "POST /login/ in a charset Django cannot read (400)",
    ],
)
@pytest.mark.django_db
def test_r_x5_r_x8_the_language_switch_of_a_page_refused_at_the_edge_works(refused, settings):
    """Pages refused before the page middleware runs (NUL characters, a body too large) show
    the language switch too: its CSRF token must match a cookie the page sets."""
    client = Client(enforce_csrf_checks=True)
    form = "application/x-www-form-urlencoded"
    if refused.startswith("GET"):
        page = client.get("/", {"q": "\x00"})
    elif "32 KiB" in refused:
        page = client.post("/login/", {"x": "a" * settings.FORM_MAX_REQUEST_BYTES})
    elif "thousand" in refused:
        page = client.post("/login/", "&".join(f"f{i}=x" for i in range(1200)), form)
    else:
        page = client.post("/login/", "login=1", f"{form}; charset=utf-16")
    assert page.status_code in (400, 413)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token and settings.CSRF_COOKIE_NAME in page.cookies
    switched = client.post(
        "/i18n/setlang/",
        {"language": "en", "next": "/", "csrfmiddlewaretoken": token.group(1)},
    )
    assert switched.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
