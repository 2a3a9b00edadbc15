"""A session ended in another window while a request ran (R-W1, R-X8, R-L4). An outside tester
confirmed a transfer with its right code while a second window with the same session logged out
or set a new password: the transfer was booked, and the member was told "the data you entered
is not valid" (Django's refusal of a session it cannot save), so would have ordered it again."""

import pytest
from django.test import Client
from tests.ledger.helpers import WEB, balance, member_with_account
from tests.web.login_steps import english_client, last_sms_code, log_in, wrong_code

from skarbiec.ledger.models import Order
from skarbiec.ledger.orders import create_transfer_order
from skarbiec.web import session_store
from skarbiec.web.transfers import views

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting_transfer():
    member, source = member_with_account(balance_minor=500_00, first_name="Anna")
    _other, target = member_with_account(member.credit_union, first_name="Ewa", last_name="Lis")
    client = english_client()
    log_in(client, member)
    order = create_transfer_order(
        member, "web", source.pk, target.number, "Ewa Lis", 100_00, "Rent", "ended-1", WEB
    )
    return client, member, source, order


def _logged_out_in_another_window_meanwhile(monkeypatch, client: Client) -> None:
    real = views.authorize_transfer

    def authorize_then_logout_elsewhere(*args, **kwargs):
        try:
            return real(*args, **kwargs)
        finally:
            session_store.SessionStore().delete(client.cookies["skarbiec_session"].value)

    monkeypatch.setattr(views, "authorize_transfer", authorize_then_logout_elsewhere)


def test_r_w1_r_l4_a_transfer_booked_as_another_window_logs_out_is_said_to_be_done(
    monkeypatch, waiting_transfer
):
    client, member, source, order = waiting_transfer
    _logged_out_in_another_window_meanwhile(monkeypatch, client)
    response = client.post(f"/transfers/{order.pk}/code/", {"code": last_sms_code(member)})
    order.refresh_from_db()
    assert order.state == Order.State.BOOKED and balance(source) == 400_00
    assert response.status_code == 200
    page = response.content.decode()
    assert "Your session has ended" in page and "It was done: log in again to see it." in page
    assert response.cookies["skarbiec_session"].value == ""  # the dead cookie is dropped
    assert client.get("/start/")["Location"] == "/"


def test_r_w1_a_refused_code_as_another_window_logs_out_is_not_said_to_be_done(
    monkeypatch, waiting_transfer
):
    client, member, source, order = waiting_transfer
    _logged_out_in_another_window_meanwhile(monkeypatch, client)
    response = client.post(
        f"/transfers/{order.pk}/code/", {"code": wrong_code(last_sms_code(member))}
    )
    order.refresh_from_db()
    assert order.state == Order.State.AWAITING_AUTHORIZATION and balance(source) == 500_00
    assert response.status_code == 409
    page = response.content.decode()
    assert "Log in again." in page and "It was done" not in page
