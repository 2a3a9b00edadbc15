"""R-X10 in the web: junk from a shared client address does not keep out members whose browser
has logged in before (channels/web/known_browsers.py), and grants nothing else."""

import pytest
from django.test import Client
from tests.factories import make_member
from tests.web.login_steps import PASSWORD, english_client, last_sms_code, log_in

from skarbiec.channels.models import WebChannel
from skarbiec.channels.web.known_browsers import (
    KNOWN_FOR_SECONDS,
    LOGINS_PER_BROWSER,
    is_known_browser,
    remember_browser,
)
from skarbiec.core import clock
from skarbiec.web.member_session import KNOWN_BROWSER_COOKIE

ADDRESS = "100.64.7.7"  # a carrier's address shared by many members
WRONG = "Wrong#pass1"


def _browser() -> Client:
    return english_client(REMOTE_ADDR=ADDRESS)


def _login(client: Client, login: str, password: str = PASSWORD):
    return client.post("/login/", {"login": login, "password": password})


def _junk_fills_the_address(settings) -> None:
    """Wrong passwords for Logins that do not exist, from the members' shared address, until
    the address is over its failure limit."""
    per_address, _ = settings.RATE_LIMIT_PER_ADDRESS
    junk = _browser()
    for n in range(per_address):
        assert _login(junk, f"99000000{n:02d}", WRONG).status_code == 401
    assert _login(junk, "9900000099", WRONG).status_code == 429


@pytest.fixture
def tight_address_limit(settings, fresh_rate_limit_window):
    settings.RATE_LIMIT_PER_ADDRESS = (3, 60)


@pytest.mark.django_db
def test_r_x10_a_browser_that_logged_in_before_is_served_over_its_addresss_limit(
    settings, tight_address_limit
):
    member = make_member()
    known = _browser()
    log_in(known, member)
    known.post("/logout/")
    _junk_fills_the_address(settings)

    # A browser that never logged in as this Login is refused, the password not looked at.
    stranger = _browser()
    assert _login(stranger, member.login).status_code == 429
    # The member's own browser gets through both steps, and the resend between them.
    response = _login(known, member.login)
    assert response.status_code == 302 and response["Location"] == "/login/code/"
    assert known.post("/login/code/resend/").status_code == 302
    response = known.post("/login/code/", {"code": last_sms_code(member)})
    assert response.status_code == 302 and response["Location"] == "/start/"


@pytest.mark.django_db
def test_r_x10_the_note_is_for_its_own_logins_and_unforgeable(settings, tight_address_limit):
    member, other = make_member(), make_member()
    known = _browser()
    log_in(known, member)
    known.post("/logout/")
    note = known.cookies[KNOWN_BROWSER_COOKIE].value
    _junk_fills_the_address(settings)

    # Another Login from the same browser: refused like any stranger.
    assert _login(known, other.login).status_code == 429
    # The note altered, or copied onto another Login's digest: worth nothing.
    forged = _browser()
    forged.cookies[KNOWN_BROWSER_COOKIE] = note[:-2] + ("AA" if note[-2:] != "AA" else "BB")
    assert _login(forged, member.login).status_code == 429
    forged.cookies[KNOWN_BROWSER_COOKIE] = "x" * 5000
    assert _login(forged, member.login).status_code == 429
    assert member.login not in note
    # Half a year after its last login the browser is a stranger again.
    clock.advance(KNOWN_FOR_SECONDS + 1)
    assert not is_known_browser(note, member.login)


@pytest.mark.django_db
def test_r_x10_r_w2_a_known_browser_still_has_three_wrong_passwords(settings, tight_address_limit):
    """Served over the address's limit, its wrong passwords count as anyone's: the third
    blocks the channel (R-W2)."""
    member = make_member()
    known = _browser()
    log_in(known, member)
    known.post("/logout/")
    _junk_fills_the_address(settings)
    assert _login(known, member.login, WRONG).status_code == 401
    assert _login(known, member.login, WRONG).status_code == 401
    assert _login(known, member.login, WRONG).status_code == 403
    assert WebChannel.objects.get(member=member).state == WebChannel.State.BLOCKED
    assert _login(known, member.login).status_code == 403


@pytest.mark.django_db
def test_r_x10_a_logged_in_member_changes_the_password_over_the_address_limit(
    settings, tight_address_limit
):
    member = make_member()
    browser = _browser()
    log_in(browser, member)
    _junk_fills_the_address(settings)
    response = browser.post(
        "/settings/password/",
        {"current_password": PASSWORD, "new_password": "Nowe#Haslo42", "repeated": "Nowe#Haslo42"},
    )
    assert response.status_code == 302 and response["Location"] == "/settings/password/code/"


@pytest.mark.django_db
def test_r_x10_the_cookie_is_private_to_the_login_pages(client):
    member = make_member()
    log_in(client, member)
    cookie = client.cookies[KNOWN_BROWSER_COOKIE]
    assert cookie["path"] == "/login/"
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == KNOWN_FOR_SECONDS
    assert is_known_browser(cookie.value, member.login)
    # A password step alone does not make a browser known.
    other = make_member()
    fresh = english_client()
    _login(fresh, other.login)
    assert KNOWN_BROWSER_COOKIE not in fresh.cookies


def test_r_x10_a_browser_is_known_for_its_latest_logins_only():
    note = None
    logins = [f"10000000{n:02d}" for n in range(LOGINS_PER_BROWSER + 1)]
    for login in logins:
        note = remember_browser(note, login)
        clock.advance(1)
    assert not is_known_browser(note, logins[0])
    assert all(is_known_browser(note, login) for login in logins[1:])
    # Logging in again renews a Login's place.
    note = remember_browser(note, logins[1])
    note = remember_browser(note, "1999999999")
    assert is_known_browser(note, logins[1]) and not is_known_browser(note, logins[2])
