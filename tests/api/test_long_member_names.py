"""R-X8: a member whose names are as long as onboarding allows (100 + 100 characters) makes an
own transfer; the order's payee name, the member's full name, is cut to the 70 characters a
transfer carries (it used to be a 500 on PostgreSQL)."""

import pytest
from django.test import Client

from skarbiec.ledger.accounts import deposit_cash, open_account
from skarbiec.ledger.models import Account, LedgerTransaction, Order
from skarbiec.members.models import Member
from tests.api.steps import WEB, member_with_channel, ready_device
from tests.backoffice.staff import log_in as staff_log_in
from tests.backoffice.staff import make_staff
from tests.factories import make_credit_union, make_member, make_pesel
from tests.web.login_steps import log_in

pytestmark = pytest.mark.django_db

LONG_FIRST = "Aleksandra" * 10  # 100 characters: the onboarding form's maximum
LONG_LAST = "Brzęczyszczykiewicz" * 5  # 95


def test_r_x8_back_office_accepts_the_long_names(settings):
    cu = make_credit_union()
    client = Client(raise_request_exception=False)
    staff_log_in(client, make_staff("clerk", cu))
    response = client.post(
        "/backoffice/onboard/",
        {
            "first_name": LONG_FIRST,
            "last_name": LONG_LAST,
            "pesel": make_pesel(),
            "phone": "600100200",
            "language": "pl",
            "open_savings": "on",
        },
    )
    assert response.status_code == 302
    assert Member.objects.get().full_name.startswith(LONG_FIRST)


def test_r_x8_api_own_transfer_of_a_member_with_long_names(device):
    member = member_with_channel(first_name=LONG_FIRST, last_name=LONG_LAST)
    ready_device(device, member)
    current = open_account(member, Account.Kind.CURRENT, WEB)
    savings = open_account(member, Account.Kind.SAVINGS, WEB)
    deposit_cash(current, 10_000, WEB)
    txns = LedgerTransaction.objects.count()
    response = device.request(
        "POST",
        "/transfers",
        auth=True,
        json={
            "from_account_id": current.pk,
            "payee_account": savings.number,
            "title": "own",
            "amount": "1,00",
            "idempotency_key": "k-long",
        },
    )
    assert response.status_code < 500, response.text[:300]
    if response.status_code == 200:
        order = Order.objects.get()
        assert len(order.payee_name) <= 70, f"stored {len(order.payee_name)} chars in varchar(70)"
    else:
        assert LedgerTransaction.objects.count() == txns


def test_r_x8_web_own_transfer_of_a_member_with_long_names(settings):
    settings.RATE_LIMIT_PER_ADDRESS = (100_000, 60)
    member = make_member(first_name=LONG_FIRST, last_name=LONG_LAST)
    current = open_account(member, Account.Kind.CURRENT, WEB)
    savings = open_account(member, Account.Kind.SAVINGS, WEB)
    deposit_cash(current, 10_000, WEB)
    client = Client(raise_request_exception=False)
    log_in(client, member)
    response = client.post(
        "/transfers/new/",
        {
            "from_account": current.pk,
            "to_own": savings.number,
            "title": "own",
            "amount": "1,00",
            "idempotency_key": "k-long-web",
        },
    )
    assert response.status_code < 500, response.status_code
    for order in Order.objects.all():
        assert len(order.payee_name) <= 70, f"stored {len(order.payee_name)} chars in varchar(70)"
