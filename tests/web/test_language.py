"""R-X5: Polish by default, English on request; the switch is on every page."""

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
