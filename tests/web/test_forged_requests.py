"""The internet service's pages against forged requests and out-of-range input (R-W7, R-X8,
R-B3)."""

import pytest
from django.test import Client
from tests.factories import make_member
from tests.web.login_steps import log_in

from skarbiec.core.context import RequestContext
from skarbiec.ledger.accounts import open_account
from skarbiec.ledger.models import Account

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("suffix", ["", "history.csv"])
@pytest.mark.parametrize(
    "params",
    [{"date_to": "9999-12-31"}, {"date_from": "0001-01-01"}, {"date_to": "0001-01-01"},
     {"date_from": "9999-12-31"}],
)  # fmt: skip
def test_r_x8_history_filter_at_the_ends_of_the_calendar_is_not_a_server_error(suffix, params):
    member = make_member()
    account = open_account(member, Account.Kind.CURRENT, RequestContext(channel="web"))
    client = Client(raise_request_exception=False)
    log_in(client, member)
    response = client.get(f"/accounts/{account.pk}/{suffix}", params)
    assert response.status_code < 500, response.status_code


# ---------------------------------------------------------------------------------------------
# R-B3 + R-W2 + R-W1: "the internet service is blocked and its sessions end". The end is only
# noticed by the next request of a session; a block lifted (or unblocked with a new temporary
# password) before that request brings the old session back.


def _session_ended(client: Client) -> bool:
    response = client.get("/start/")
    return response.status_code == 302 and response["Location"] == "/"


@pytest.fixture
def intruder_and_helpline():
    """Someone else has the member's password and an open web session (logged in with it a
    minute ago); the member phones the helpline."""
    from tests.backoffice.staff import make_staff, staff_client

    member = make_member()
    intruder = Client()
    log_in(intruder, member)
    helpline = staff_client(make_staff("helpline", member.credit_union))
    return member, intruder, helpline


@pytest.mark.parametrize("ending", ["unblock", "lift-block"])
def test_r_b3_r_w2_a_session_open_before_a_block_does_not_survive_its_end(
    intruder_and_helpline, ending
):
    """The member phones: "someone knows my password, block it" (R-B3). Then the block ends:
    an unblock with a new temporary password, or lifted on the member's request. The
    intruder's session made no request in between; "its sessions end" must still hold."""
    member, intruder, helpline = intruder_and_helpline
    assert helpline.post(f"/backoffice/members/{member.pk}/web/block/").status_code == 302
    assert helpline.post(f"/backoffice/members/{member.pk}/web/{ending}/").status_code == 302
    assert _session_ended(intruder)


def test_r_b3_r_w1_a_session_open_before_a_block_cannot_set_the_password_after_the_unblock(
    intruder_and_helpline,
):
    from tests.factories import password_matches

    member, intruder, helpline = intruder_and_helpline
    helpline.post(f"/backoffice/members/{member.pk}/web/block/")
    helpline.post(f"/backoffice/members/{member.pk}/web/unblock/")
    # The unblock set must_change_password: the surviving session is offered the forced
    # change (R-W1) and needs neither the temporary password nor the SMS code for it.
    intruder.post("/password/", {"new_password": "Intruz#2024x", "repeated": "Intruz#2024x"})
    member.refresh_from_db()
    assert not password_matches(member.web_password_hash, "Intruz#2024x")


def test_r_b3_r_w1_a_session_opened_with_a_temporary_password_ends_when_staff_renew_it():
    """The temporary password's SMS was read off the member's phone by someone else, who logged
    in first; the member phones the helpline for a new one. The old one's session ends."""
    from tests.backoffice.staff import make_staff, staff_client

    member = make_member(must_change_password="yes")
    intruder = Client()
    log_in(intruder, member)
    helpline = staff_client(make_staff("helpline", member.credit_union))
    renew = f"/backoffice/members/{member.pk}/web/temporary-password/"
    assert helpline.post(renew).status_code == 302
    assert _session_ended(intruder)


# ---------------------------------------------------------------------------------------------
# R-W7: every page that accepts a POST refuses it without the CSRF token, or with the token
# from another origin; nothing changes. Taken from the URL configuration.


def _post_routes() -> list[str]:
    import re

    from skarbiec.web import urls as web_urls

    return ["/" + re.sub(r"<[^>]+>", "1", str(p.pattern)) for p in web_urls.urlpatterns]


def test_r_w7_every_page_refuses_a_post_without_a_csrf_token_or_from_another_origin():
    from tests.web.login_steps import last_sms_code

    member = make_member()
    open_account(member, Account.Kind.CURRENT, RequestContext(channel="web"))
    browser = Client(enforce_csrf_checks=True)
    browser.get("/")
    token = browser.cookies["csrftoken"].value
    response = browser.post(
        "/login/", {"login": member.login, "password": "Start#2024pl", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    browser.post("/login/code/", {"code": last_sms_code(member), "csrfmiddlewaretoken": token})
    assert browser.get("/start/").status_code == 200
    token = browser.cookies["csrftoken"].value
    for page in _post_routes():
        if page.startswith("/brand/"):
            continue
        response = browser.post(page, {"code": "123456", "amount": "1"})
        assert response.status_code == 403, (page, "no token", response.status_code)
        response = browser.post(
            page, {"code": "123456", "csrfmiddlewaretoken": token},
            HTTP_ORIGIN="https://evil.example", secure=True,
        )  # fmt: skip
        assert response.status_code == 403, (page, "origin", response.status_code)
    assert browser.get("/start/").status_code == 200


@pytest.mark.parametrize("path", ["/", "/api/mobile/v1/session"])
def test_r_x8_a_forged_host_is_told_what_is_wrong_in_a_page_or_json(path):
    """A Host header naming another server (DNS rebinding, a proxy's mistake): a 400 that says
    so, as a page outside the API and as JSON in it, never "the data you entered"."""
    client = Client(raise_request_exception=False)
    response = client.get(path, HTTP_HOST="evil.example", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    if path.startswith("/api/"):
        assert response.json()["code"] == "unknown_host"
    else:
        assert response["Content-Type"].startswith("text/html")
        assert "does not answer for the address" in response.content.decode()
    polish = client.get(path, HTTP_HOST="evil.example")
    text = polish.json()["message"] if path.startswith("/api/") else polish.content.decode()
    assert "nie obsługuje adresu" in text
