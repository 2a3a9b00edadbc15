"""The app's start screen and statements over the mobile API (R-L1, R-L3, R-L5, R-W1)."""

import io

import pytest
from django.utils import timezone
from pypdf import PdfReader

from skarbiec.audit.services import record_event
from skarbiec.client import ApiError
from skarbiec.core import clock
from skarbiec.ledger.accounts import deposit_cash, open_account
from skarbiec.ledger.models import Account
from skarbiec.ledger.statements import month_start
from tests.api.steps import PIN, WEB, member_with_channel, ready_device
from tests.ledger.helpers import EXTERNAL

pytestmark = pytest.mark.django_db

DAY = 86400


@pytest.fixture
def member_account(device):
    member = member_with_channel(first_name="Anna")
    current = open_account(member, Account.Kind.CURRENT, WEB)
    deposit_cash(current, 1_234_56, WEB, title="Salary")
    return member, current


def test_r_l5_overview_has_accounts_recent_operations_waiting_orders_and_months(
    device, member_account
):
    member, current = member_account
    ready_device(device, member)
    order = device.create_transfer(current.pk, EXTERNAL, "Rent", "10,00", "Jan Kowalski")
    body = device.overview()
    assert [a["id"] for a in body["accounts"]] == [current.pk]
    assert body["recent"][0]["title"] == "Salary"
    assert body["recent"][0]["account_number"] == current.number
    assert [o["id"] for o in body["waiting"]] == [order["id"]]
    assert len(body["months"]) == 6
    assert body["months"][-1]["income_minor"] == 1_234_56
    assert body["months"][-1]["income"] == "PLN\u00a01,234.56"
    assert len(device.overview(months=12)["months"]) == 12


def test_r_w1_overview_names_the_login_before_this_session(device, member_account):
    member, _current = member_account
    ready_device(device, member)
    # Setting the PIN opened this session: there is no earlier login.
    assert device.overview()["previous_login"] is None
    clock.advance(60)
    device.login_pin(PIN)
    # ... and that session was a login of its own.
    assert device.overview()["previous_login"]["channel"] == "mobile"
    clock.advance(60)
    # A web login in between (what the web login service records).
    record_event("web_login", WEB, credit_union_id=member.credit_union_id, member_id=member.pk)
    clock.advance(60)
    device.login_pin(PIN)
    previous = device.overview()["previous_login"]
    assert previous["channel"] == "web" and previous["channel_label"] == "in the internet service"
    clock.advance(60)
    device.login_pin(PIN)
    previous = device.overview()["previous_login"]
    assert previous["channel"] == "mobile" and previous["channel_label"] == "in the mobile app"


def test_r_l5_statements_listed_and_downloaded_through_the_api(device, member_account):
    member, current = member_account
    clock.advance(40 * DAY)
    ready_device(device, member)
    months = device.statements(current.pk)
    last = month_start(timezone.localdate(clock.now()), 1)
    assert (months[0]["year"], months[0]["month"], months[0]["issued"]) == (
        last.year,
        last.month,
        False,
    )
    pdf = device.statement_pdf(current.pk, last.year, last.month)
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Account statement" in text and "Salary" in text
    assert device.statements(current.pk)[0]["issued"] is True
    today = timezone.localdate(clock.now())
    with pytest.raises(ApiError) as refused:
        device.statement_pdf(current.pk, today.year, today.month)
    assert refused.value.status == 400


def test_r_l5_openapi_lists_overview_and_statements(device):
    paths = device.call("GET", "/openapi.json")["paths"]
    assert "/api/mobile/v1/overview" in paths
    assert "/api/mobile/v1/accounts/{account_id}/statements" in paths
