"""The back-office under attack (R-B1, R-X6, R-X8): staff codes at once, sessions after a
credentials reset, out-of-range filters."""

import threading
from collections.abc import Callable

import pytest
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.db import connections

from skarbiec.audit.models import AuditEvent
from skarbiec.backoffice import login as staff_login
from skarbiec.backoffice.errors import StaffLoginExpired
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError
from skarbiec.members.models import StaffProfile
from skarbiec.members.staff import authenticator_secret
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
    stamp = staff_login.check_staff_password("ola.helpline", PASSWORD, CTX).stamp
    code = next_code(helpline)
    outcomes = _twice_at_once(
        staff_login.TotpGuess, lambda: staff_login.check_staff_code(helpline.pk, code, stamp, CTX)
    )
    assert outcomes.count("accepted") == 1, outcomes


def test_r_b1_a_recovery_code_works_once_even_for_two_logins_at_once(cu, transactional_db):
    helpline = make_staff("helpline", cu, "ola.helpline")
    codes = log_in(english_client(), helpline)
    stamp = staff_login.check_staff_password("ola.helpline", PASSWORD, CTX).stamp
    outcomes = _twice_at_once(
        staff_login.AnyDigestGuess,
        lambda: staff_login.check_staff_recovery_code(helpline.pk, codes[0], stamp, CTX),
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


@pytest.mark.parametrize(
    "username",
    [
        "\ufdfa" * 6,  # one letter each, stored by Django (NFKC) as 18 characters with spaces
        "\ufdfa" * 9,  # 162 characters stored: beyond the username and audit actor columns
    ],
)
def test_r_b5_r_x8_a_username_is_checked_as_it_will_be_stored(cu, admin_client, username):
    """The audit names a staff member as "staff:<username>" (R-B5): the name checked for its
    characters and length must be the name stored, not one Django normalises afterwards."""
    response = admin_client.post(
        "/backoffice/staff/new/", {"username": username, "role": "helpline"}
    )
    assert response.status_code == 400
    assert "may contain only letters" in response.content.decode()
    names = list(StaffProfile.objects.values_list("user__username", flat=True))
    assert names == ["ewa.admin"]


def test_r_b5_a_fullwidth_spelling_is_no_second_staff_member_of_the_same_name(
    other_cu, admin_client
):
    """Ｏla.helpline is stored as Ola.helpline: a case twin of another credit union's
    ola.helpline, whom the login and the audit filter (case-insensitive) could not tell apart."""
    make_staff("helpline", other_cu, "ola.helpline")
    response = admin_client.post(
        "/backoffice/staff/new/", {"username": "\uff2fla.helpline", "role": "helpline"}
    )
    assert response.status_code == 409
    names = [n.lower() for n in StaffProfile.objects.values_list("user__username", flat=True)]
    assert sorted(names) == ["ewa.admin", "ola.helpline"]


def _past_the_password(username: str):  # noqa: ANN202
    client = english_client()
    response = client.post("/backoffice/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"].endswith("/code/")
    return client


@pytest.mark.parametrize("second_factor", ["code", "recovery"])
def test_r_b1_a_login_past_the_old_password_does_not_finish_after_a_new_one_is_issued(
    cu, admin_client, second_factor
):
    """Someone typed the old password; the administrator issues a new one because of it. The
    half-finished login must not be completed with the authenticator or a recovery code."""
    victim = make_staff("helpline", cu, "ola.helpline")
    recovery_codes = log_in(english_client(), victim)
    intruder = _past_the_password("ola.helpline")
    assert admin_client.post(f"/backoffice/staff/{victim.pk}/password/").status_code == 200
    secret = next_code(victim) if second_factor == "code" else recovery_codes[0]
    response = intruder.post(f"/backoffice/login/{second_factor}/", {"code": secret})
    assert response.status_code == 401, response.status_code
    assert "The login has expired" in response.content.decode()
    assert intruder.get("/backoffice/members/")["Location"] == "/backoffice/login/"
    assert not AuditEvent.objects.filter(event="staff_login", actor="staff:ola.helpline")[1:]


@pytest.mark.parametrize("deactivated", ["in the back-office", "by Django's own tools"])
def test_r_b1_r_b5_a_deactivated_login_past_the_password_is_not_completed_nor_recorded(
    cu, admin_client, deactivated
):
    victim = make_staff("helpline", cu, "ola.helpline")
    log_in(english_client(), victim)
    intruder = _past_the_password("ola.helpline")
    if deactivated == "in the back-office":
        assert admin_client.post(f"/backoffice/staff/{victim.pk}/deactivate/").status_code == 302
    else:  # Django's admin or a shell: no session generation raised
        User.objects.filter(pk=victim.user_id).update(is_active=False)
    logins = AuditEvent.objects.filter(event="staff_login").count()
    intruder.post("/backoffice/login/code/", {"code": next_code(victim)})
    assert intruder.get("/backoffice/members/")["Location"] == "/backoffice/login/"
    assert AuditEvent.objects.filter(event="staff_login").count() == logins


def test_r_b1_the_authenticator_is_not_shown_to_a_login_past_a_replaced_password(cu, admin_client):
    """While enrolment is pending the QR code holds the authenticator's secret: a login that
    passed a password since replaced must not see it."""
    newcomer = make_staff("helpline", cu, "nowy.helpline")
    intruder = english_client()
    response = intruder.post(
        "/backoffice/login/", {"username": "nowy.helpline", "password": PASSWORD}
    )
    assert response["Location"].endswith("/enrol/")
    admin_client.post(f"/backoffice/staff/{newcomer.pk}/password/")
    page = intruder.get("/backoffice/login/enrol/")
    newcomer.refresh_from_db()
    assert authenticator_secret(newcomer) not in page.content.decode() or not newcomer.totp_secret
    assert page.status_code in (302, 401)


def test_r_b1_a_wrong_code_of_an_expired_login_is_still_counted_and_audited(cu, admin_client):
    """The stamp ends a login only for a right code: a wrong one is a failure like any other,
    audited and toward the lock."""
    victim = make_staff("helpline", cu, "ola.helpline")
    log_in(english_client(), victim)
    intruder = _past_the_password("ola.helpline")
    admin_client.post(f"/backoffice/staff/{victim.pk}/password/")
    right = next_code(victim)
    wrong = next(c for c in ("000000", "111111", "222222") if c != right)
    response = intruder.post("/backoffice/login/code/", {"code": wrong})
    assert response.status_code == 401
    assert "The login has expired" not in response.content.decode()
    victim.refresh_from_db()
    assert victim.failed_totp_attempts == 1
    assert AuditEvent.objects.filter(event="staff_code_failed").count() == 1


def test_r_b1_a_password_replaced_while_it_was_compared_does_not_pass(cu, monkeypatch):
    """The login proved the hash it was compared with; one replaced by an administrator during
    the comparison must not give the login a stamp of the new one."""
    victim = make_staff("helpline", cu, "ola.helpline")
    original = staff_login.PasswordGuess._matches

    def replaced_meanwhile(self, row):
        matched = original(self, row)
        User.objects.filter(pk=victim.user_id).update(password=make_password("Nowe#Haslo42"))
        return matched

    monkeypatch.setattr(staff_login.PasswordGuess, "_matches", replaced_meanwhile)
    with pytest.raises(StaffLoginExpired):
        staff_login.check_staff_password("ola.helpline", PASSWORD, CTX)


@pytest.mark.django_db(transaction=True)
def test_r_b1_a_change_committing_while_the_login_waits_for_its_lock_is_seen(cu, monkeypatch):
    """As the web login's (fault review of 7 December, PostgreSQL): a change that holds the
    profile's lock while the compared login waits for it; the user row joined to the lock's
    statement would be from before it. The acceptance reads the password afresh."""
    from skarbiec.core.locks import for_update
    from tests.lock_waits import committed_while_the_acceptance_waits

    victim = make_staff("helpline", cu, "ola.helpline")

    def change() -> None:
        for_update(StaffProfile.objects).get(pk=victim.pk)
        User.objects.filter(pk=victim.user_id).update(password=make_password("Nowe#Haslo42"))

    with (
        committed_while_the_acceptance_waits(monkeypatch, change),
        pytest.raises(StaffLoginExpired),
    ):
        staff_login.check_staff_password("ola.helpline", PASSWORD, CTX)


@pytest.mark.django_db
def test_r_b1_a_new_password_gives_an_unconfirmed_authenticator_a_new_secret(cu):
    """Mutation-free finding of the lock audit (7 December): whoever saw the enrolment's QR
    under the old (temporary) password knew the secret the staff member enrolled after the
    administrator issued a new password, since the unconfirmed secret was kept. A new password
    now forgets it and ends every login past the old one."""
    from skarbiec.backoffice.staff_accounts import new_password

    admin = make_staff("admin", cu, "ewa.admin")
    victim = make_staff("helpline", cu, "ola.helpline")
    intruder = english_client()
    intruder.post("/backoffice/login/", {"username": "ola.helpline", "password": PASSWORD})
    assert intruder.get("/backoffice/login/enrol/").status_code == 200
    victim.refresh_from_db()
    seen = authenticator_secret(victim)
    assert seen

    password = new_password(admin, victim.pk, CTX)
    victim.refresh_from_db()
    assert victim.totp_secret == ""
    # The intruder's login past the old password is over.
    assert intruder.get("/backoffice/login/enrol/").status_code != 200
    member_of_staff = english_client()
    member_of_staff.post("/backoffice/login/", {"username": "ola.helpline", "password": password})
    assert member_of_staff.get("/backoffice/login/enrol/").status_code == 200
    victim.refresh_from_db()
    assert authenticator_secret(victim) not in ("", seen)
