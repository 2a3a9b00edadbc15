"""The start page (R-L1, R-L3, R-L5, R-W1, R-X5): balances, latest operations linking to their
details, orders on their way, the previous login in the member's language, and the monthly
chart drawn on the server with a table of the same figures."""

import re

import pytest
from django.test import Client
from tests.ledger.helpers import EXTERNAL, WEB, key, member_with_account
from tests.web.login_steps import log_in

from skarbiec.audit.services import record_event
from skarbiec.core import clock
from skarbiec.core.context import RequestContext
from skarbiec.ledger.accounts import deposit_cash
from skarbiec.ledger.orders import create_transfer_order

pytestmark = pytest.mark.django_db

PHONE_APP = RequestContext(ip_address="10.9.8.7", channel="mobile", device="Skarbiec/1.4 (Pixel 7)")


@pytest.fixture
def member_with_history():
    member, current = member_with_account(balance_minor=2_000_00, first_name="Anna")
    deposit_cash(current, 150_00, WEB, title="Salary March")
    order = create_transfer_order(
        member, "web", current, EXTERNAL, "Jan Kowalski", 20_00, "Rent", key(), WEB
    )
    return member, current, order


def _start(client: Client) -> str:
    response = client.get("/start/")
    assert response.status_code == 200
    return response.content.decode()


def test_r_l5_start_page_lists_latest_operations_linking_to_their_details(
    client, member_with_history
):
    member, _current, _order = member_with_history
    log_in(client, member)
    body = _start(client)
    entry_links = re.findall(r'href="/accounts/entries/(\d+)/"', body)
    assert len(entry_links) == 2
    assert "Salary March" in body
    detail = client.get(f"/accounts/entries/{entry_links[0]}/")
    assert detail.status_code == 200 and "Salary March" in detail.content.decode()


def test_r_l3_start_page_shows_orders_waiting_for_a_code(client, member_with_history):
    member, _current, order = member_with_history
    log_in(client, member)
    body = _start(client)
    assert f'href="/transfers/{order.pk}/code/"' in body
    assert "waiting for the SMS code" in body


def test_r_w1_previous_login_is_from_either_channel_with_device_and_address(
    client, member_with_history
):
    member, _current, _order = member_with_history
    record_event(
        "mobile_login",
        PHONE_APP,
        credit_union_id=member.credit_union_id,
        member_id=member.pk,
        data={"method": "pin"},
    )
    clock.advance(3600)
    log_in(client, member)
    body = _start(client)
    assert "Your previous login:" in body
    assert "mobile app, Skarbiec/1.4 (Pixel 7), address 10.9.8.7." in body
    assert "first login" not in body


def test_r_w1_the_login_in_progress_is_not_its_own_previous_login(client, member_with_history):
    member, _current, _order = member_with_history
    log_in(client, member)
    assert "This is your first login." in _start(client)


def test_r_x5_previous_login_date_is_localised_without_a_double_period(member_with_history):
    member, _current, _order = member_with_history
    english = Client()
    english.cookies["skarbiec_lang"] = "en"
    log_in(english, member)
    english.post("/logout/")
    clock.advance(3600)
    log_in(english, member)
    body = _start(english)
    assert ".." not in re.sub(r"\s+", "", body.split("data-previous-login")[1].split("</p>")[0])
    polish = Client()
    clock.advance(3600)
    log_in(polish, member)
    text = polish.get("/start/").content.decode()
    assert "Twoje poprzednie logowanie:" in text
    months = (
        "stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października "
        "listopada grudnia"
    )
    login_line = text.split("data-previous-login")[1].split("</p>")[0]
    assert any(m in login_line for m in months.split())


def test_r_l5_chart_is_inline_svg_without_inline_styles_with_a_table_of_the_figures(
    client, member_with_history
):
    member, _current, _order = member_with_history
    log_in(client, member)
    response = client.get("/start/")
    body = response.content.decode()
    svg = body.split('<svg class="month-chart"')[1].split("</svg>")[0]
    assert svg.count('class="bar-income"') == 6 and svg.count('class="bar-expenses"') == 6
    # Geometry uses dots whatever the language; the CSP forbids style attributes and scripts.
    assert "," not in "".join(re.findall(r'(?:x|y|width|height)="([^"]*)"', svg))
    assert "style=" not in body and "<script>" not in body
    assert "style-src 'self'" in response["Content-Security-Policy"]
    table = body.split('<details class="chart-table"')[1].split("</details>")[0]
    assert "Income" in table and "Expenses" in table
    assert "2,150.00" in table  # this month's income: the opening deposit and the salary
