"""The payee book in the internet service (R-L4 extended): saved from the transfer form or the
list, picked in the transfer form without script, trusted only with the SMS code that names it."""

import re

import pytest
from django.test import Client
from tests.ledger.helpers import EXTERNAL, WEB, member_with_account
from tests.web.login_steps import last_sms_code, log_in, wrong_code

from skarbiec.ledger.models import Order, TrustedPayee
from skarbiec.ledger.nrb import format_nrb
from skarbiec.ledger.payee_book import save_payee
from skarbiec.otp.models import SmsMessage

pytestmark = pytest.mark.django_db

WRONG_CHECKSUM = "61109010140000071219812875"


@pytest.fixture(autouse=True)
def _many_codes_allowed(settings):
    settings.OTP_SEND_LIMIT = (10_000, 600)


@pytest.fixture
def payer(client: Client):
    member, current = member_with_account(balance_minor=1_000_00, first_name="Anna")
    log_in(client, member)
    return member, current


def _form(client: Client, query: str = "") -> str:
    response = client.get("/transfers/new/" + query)
    assert response.status_code == 200
    return response.content.decode()


def _key(page: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)


def _value(page: str, field: str) -> str:
    match = re.search(rf'id="id_{field}"[^>]*value="([^"]*)"', page, re.S)
    assert match, field
    return match.group(1)


def test_r_l4_payee_saved_from_the_transfer_form_then_picked_without_script(client, payer):
    member, current = payer
    page = _form(client)
    assert 'id="id_payee"' not in page  # an empty book offers nothing to pick
    response = client.post(
        "/transfers/new/",
        {
            "from_account": str(current.pk),
            "payee_account": EXTERNAL,
            "payee_name": "Jan Kowalski",
            "title": "Rent for May",
            "amount": "100,00",
            "idempotency_key": _key(page),
            "save_payee": "on",
        },
    )
    assert response.status_code == 302
    saved = TrustedPayee.objects.get(member=member)
    assert (saved.state, saved.name, saved.account, saved.title) == (
        "saved",
        "Jan Kowalski",
        EXTERNAL,
        "Rent for May",
    )
    # A saved payee is not trusted: the transfer still needed its SMS code.
    assert Order.objects.get(member=member).state == Order.State.AWAITING_AUTHORIZATION

    page = _form(client)
    assert f'<option value="{saved.pk}"' in page
    picked = _form(client, f"?payee={saved.pk}")
    assert _value(picked, "payee_account") == format_nrb(EXTERNAL)
    assert _value(picked, "payee_name") == "Jan Kowalski"
    assert _value(picked, "title") == "Rent for May"


def test_r_l4_transfer_without_the_tick_saves_no_payee(client, payer):
    member, current = payer
    page = _form(client)
    client.post(
        "/transfers/new/",
        {
            "from_account": str(current.pk),
            "payee_account": EXTERNAL,
            "payee_name": "Jan Kowalski",
            "title": "Rent",
            "amount": "1,00",
            "idempotency_key": _key(page),
        },
    )
    assert not TrustedPayee.objects.filter(member=member).exists()


def test_r_l4_refused_transfer_saves_no_payee(client, payer):
    member, current = payer
    page = _form(client)
    response = client.post(
        "/transfers/new/",
        {
            "from_account": str(current.pk),
            "payee_account": EXTERNAL,
            "payee_name": "Jan Kowalski",
            "title": "Rent",
            "amount": "999999,00",
            "idempotency_key": _key(page),
            "save_payee": "on",
        },
    )
    assert response.status_code in (400, 409, 422)
    assert not TrustedPayee.objects.filter(member=member).exists()
    assert 'id="id_save_payee" name="save_payee" type="checkbox" value="on" checked' in (
        response.content.decode()
    )


def test_r_l4_payee_added_on_the_list_is_saved_without_code_and_trusted_only_with_it(client, payer):
    member, current = payer
    sms_before = SmsMessage.objects.filter(member=member).count()
    response = client.post(
        "/payees/", {"name": "Ewa Lis", "account": format_nrb(EXTERNAL), "title": "Gift"}
    )
    assert response.status_code == 302 and response["Location"] == "/payees/?done=saved"
    assert SmsMessage.objects.filter(member=member).count() == sms_before
    payee = TrustedPayee.objects.get(member=member)
    assert payee.state == "saved"
    page = client.get("/payees/").content.decode()
    assert "Ewa Lis" in page and f"/transfers/new/?payee={payee.pk}" in page

    response = client.post(f"/payees/{payee.pk}/trust/")
    assert response.status_code == 200 and "names this payee" in response.content.decode()
    code = last_sms_code(member)
    response = client.post(f"/payees/{payee.pk}/code/", {"code": wrong_code(code)})
    assert response.status_code == 400
    payee.refresh_from_db()
    assert payee.state == "saved"  # a wrong code trusts nothing
    response = client.post(f"/payees/{payee.pk}/code/", {"code": code})
    assert response.status_code == 302
    payee.refresh_from_db()
    assert payee.state == "active"

    # Now transfers to it need no code.
    page = _form(client, f"?payee={payee.pk}")
    client.post(
        "/transfers/new/",
        {
            "from_account": str(current.pk),
            "payee_account": _value(page, "payee_account"),
            "payee_name": _value(page, "payee_name"),
            "title": _value(page, "title"),
            "amount": "5,00",
            "idempotency_key": _key(page),
        },
    )
    order = Order.objects.get(member=member)
    assert order.state == Order.State.PENDING and order.exempt_reason == "trusted_payee"


def test_r_l4_payee_with_a_bad_number_is_refused_and_nothing_saved(client, payer):
    response = client.post("/payees/", {"name": "X", "account": WRONG_CHECKSUM})
    assert response.status_code == 400 and "wrong check sum" in response.content.decode()
    assert not TrustedPayee.objects.exists()


def test_r_l4_another_members_payee_cannot_be_picked_or_trusted(client, payer):
    member, _current = payer
    other, _account = member_with_account(member.credit_union)
    theirs = save_payee(other, "Secret", EXTERNAL, "", WEB)
    assert client.get(f"/transfers/new/?payee={theirs.pk}").status_code == 404
    assert client.post(f"/payees/{theirs.pk}/trust/").status_code == 404
    assert "Secret" not in _form(client)
