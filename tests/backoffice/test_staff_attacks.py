"""The back-office under attack (R-B1, R-X6, R-X8): staff codes at once, sessions after a
credentials reset, out-of-range filters."""

import threading
from collections.abc import Callable

import pytest
from django.db import connections

from skarbiec.backoffice import login as staff_login
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError
from tests.backoffice.staff import PASSWORD, log_in, make_staff, next_code
from tests.web.login_steps import english_client

CTX = RequestContext(ip_address="10.1.1.1", channel="backoffice")


def _twice_at_once(guess_class: type, log_in_with_code: Callable[[], object]) -> list[str]:
    """The same code presented by two logins: the second arrives after the first compared its
    code and before it settled (a keylogger, someone looking over the shoulder)."""
    original = guess_class._matches
    outcomes: list[str] = []

    def one_login() -> None:
        try:
            log_in_with_code()
            outcomes.append("accepted")
        except DomainError as error:
            outcomes.append(error.code)

    def second_login() -> None:
        try:
            one_login()
        finally:
            connections.close_all()

    def matches_then_another_login_arrives(self, row):
        matched = original(self, row)
        if not outcomes and threading.current_thread() is threading.main_thread():
            t = threading.Thread(target=second_login)
            t.start()
            t.join()
        return matched

    guess_class._matches = matches_then_another_login_arrives
    try:
        one_login()
    finally:
        guess_class._matches = original
    return outcomes


def test_r_b1_a_totp_code_is_not_accepted_twice_even_by_two_logins_at_once(cu, transactional_db):
    """Single use of a step (no replay) must hold for two logins presenting the same code at
    the same moment, not only one after the other."""
    helpline = make_staff("helpline", cu, "ola.helpline")
    log_in(english_client(), helpline)
    staff_login.check_staff_password("ola.helpline", PASSWORD, CTX)
    code = next_code(helpline)
    outcomes = _twice_at_once(
        staff_login.TotpGuess, lambda: staff_login.check_staff_code(helpline.pk, code, CTX)
    )
    assert outcomes.count("accepted") == 1, outcomes


def test_r_b1_a_recovery_code_works_once_even_for_two_logins_at_once(cu, transactional_db):
    helpline = make_staff("helpline", cu, "ola.helpline")
    codes = log_in(english_client(), helpline)
    outcomes = _twice_at_once(
        staff_login.AnyDigestGuess,
        lambda: staff_login.check_staff_recovery_code(helpline.pk, codes[0], CTX),
    )
    assert outcomes.count("accepted") == 1, outcomes


@pytest.mark.parametrize("action", ["password", "reset-authenticator"])
def test_r_b1_an_administrator_resetting_a_colleagues_credentials_ends_their_sessions(
    cu, admin_client, action
):
    """An administrator resets a colleague's password or authenticator because someone else
    may have it: a session opened with the old credentials must not go on."""
    colleague = make_staff("helpline", cu, "ola.helpline")
    intruder = english_client()
    log_in(intruder, colleague)
    assert intruder.get("/backoffice/members/").status_code == 200
    response = admin_client.post(f"/backoffice/staff/{colleague.pk}/{action}/")
    assert response.status_code in (200, 302)
    response = intruder.get("/backoffice/members/")
    assert response.status_code == 302 and response["Location"] == "/backoffice/login/"


@pytest.mark.parametrize("action", ["deactivate"])
def test_r_b1_deactivating_a_colleague_ends_their_sessions(cu, admin_client, action):
    colleague = make_staff("helpline", cu, "ola.helpline")
    client = english_client()
    log_in(client, colleague)
    assert admin_client.post(f"/backoffice/staff/{colleague.pk}/{action}/").status_code == 302
    response = client.get("/backoffice/members/")
    assert response.status_code == 302 and response["Location"] == "/backoffice/login/"


def test_r_b1_a_session_left_idle_over_a_deactivation_does_not_resume_on_reactivation(
    cu, admin_client
):
    """An account deactivated (someone else may be using it) and activated again: a session
    opened before, not used in between, must not come back with the account."""
    colleague = make_staff("helpline", cu, "ola.helpline")
    dormant = english_client()
    log_in(dormant, colleague)
    assert admin_client.post(f"/backoffice/staff/{colleague.pk}/deactivate/").status_code == 302
    assert admin_client.post(f"/backoffice/staff/{colleague.pk}/activate/").status_code == 302
    response = dormant.get("/backoffice/members/")
    assert response.status_code == 302 and response["Location"] == "/backoffice/login/"
    log_in(english_client(), colleague)  # the account itself works again


def test_r_b1_a_session_left_idle_over_a_lock_does_not_resume_on_unlock(cu, admin_client):
    """Wrong passwords lock the account; the administrator unlocks it. A session opened before
    the lock and not used during it must not go on: the lock may have come from someone
    trying the account while its owner's session lay open."""
    colleague = make_staff("helpline", cu, "ola.helpline")
    dormant = english_client()
    log_in(dormant, colleague)
    for _ in range(5):
        english_client().post(
            "/backoffice/login/", {"username": "ola.helpline", "password": "Zle#haslo99"}
        )
    colleague.refresh_from_db()
    assert colleague.locked_at is not None
    assert admin_client.post(f"/backoffice/staff/{colleague.pk}/unlock/").status_code == 302
    response = dormant.get("/backoffice/members/")
    assert response.status_code == 302 and response["Location"] == "/backoffice/login/"
    log_in(english_client(), colleague)


@pytest.mark.parametrize("page", ["/backoffice/audit/", "/backoffice/audit/export.csv"])
@pytest.mark.parametrize("params", [{"until": "9999-12-31"}, {"since": "0001-01-01"}])
def test_r_x8_audit_filter_at_the_ends_of_the_calendar_is_not_a_server_error(
    helpline, page, params
):
    from django.test import Client

    client = Client(raise_request_exception=False)
    log_in(client, helpline)
    response = client.get(page, params)
    assert response.status_code < 500, response.status_code
