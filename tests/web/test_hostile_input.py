"""Hostile single fields in otherwise valid web forms; cookies and headers."""

import pytest
from django.test import Client
from tests.factories import make_member
from tests.ledger.helpers import EXTERNAL, WEB
from tests.web.login_steps import log_in

from skarbiec.ledger.accounts import deposit_cash, open_account
from skarbiec.ledger.models import Account, Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_client(settings):
    settings.RATE_LIMIT_PER_ADDRESS = (100_000, 60)
    settings.RATE_LIMIT_PER_LOGIN = (100_000, 60)
    member = make_member()
    current = open_account(member, Account.Kind.CURRENT, WEB)
    savings = open_account(member, Account.Kind.SAVINGS, WEB)
    deposit_cash(current, 1_000_000, WEB)
    client = Client(raise_request_exception=False)
    log_in(client, member)
    return client, member, current, savings


def _page(response, what, ok=(200, 302)):
    assert response.status_code < 500, f"{what}: {response.status_code}"
    if response.status_code >= 400:
        assert response["Content-Type"].startswith("text/html"), what


AMOUNTS = [
    "1e3",
    "١٠",
    "0,001",
    "-5",
    "  5 ",
    "NaN",
    "1e309",
    "-0",
    "0",
    "9" * 39,
    "1_000",
    "+5",
    "5.",
    ".5",
    "1 234,567",
    "１０",
    "5\u00a0zł",
    "PLN5",
]


@pytest.mark.parametrize("amount", AMOUNTS)
def test_r_x8_web_transfer_amounts(member_client, amount):
    client, member, current, savings = member_client
    response = client.post(
        "/transfers/new/",
        {
            "from_account": current.pk,
            "payee_account": EXTERNAL,
            "payee_name": "Jan",
            "title": "t",
            "amount": amount,
            "idempotency_key": "k-web-amt",
        },
    )
    _page(response, amount)
    if response.status_code != 302:
        assert not Order.objects.exists()


@pytest.mark.parametrize(
    "field,value",
    [
        ("from_account", "٣"),
        ("from_account", "1e3"),
        ("from_account", str(2**63)),
        ("from_account", "-1"),
        ("to_own", "x" * 26),
        ("to_own", "٠" * 26),
        ("payee_account", "PL" + "٠" * 26),
        ("idempotency_key", "ą" * 10),
        ("idempotency_key", " "),
        ("title", "x" * 141),
        ("title", "x" * 401),
        ("payee_name", "x" * 71),
        ("save_payee", "maybe"),
        ("from_account", "1" * 5000),  # past the 4,300 digits int() takes
        ("from_account", "²"),  # a digit to isdigit(), not to int()
    ],
)
def test_r_x8_web_transfer_single_bad_field(member_client, field, value):
    client, member, current, savings = member_client
    form = {
        "from_account": current.pk,
        "payee_account": EXTERNAL,
        "payee_name": "Jan",
        "title": "t",
        "amount": "1,00",
        "idempotency_key": "k-web-f",
    }
    form[field] = value
    response = client.post("/transfers/new/", form)
    _page(response, f"{field}={value!r}")


@pytest.mark.parametrize(
    "values",
    [
        {"per_transaction": "١٠", "daily": "10", "monthly": "10"},
        {"per_transaction": "9" * 40, "daily": "10", "monthly": "10"},
        {"per_transaction": "1e3", "daily": "1e3", "monthly": "1e3"},
        {"per_transaction": "0", "daily": "0", "monthly": "0"},
        {"per_transaction": "10", "daily": "10", "monthly": "10", "channel": "x" * 1000},
        {"per_transaction": "10", "daily": "10", "monthly": "10", "channel": "mobile"},
    ],
)
def test_r_x8_web_limits(member_client, values):
    client, *_ = member_client
    response = client.post("/limits/", values)
    _page(response, str(values))


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "2026-02-30"},
        {"date_from": "20260101"},
        {"date_from": "2026-W01-1"},
        {"date_from": "١٩٩٠-٠١-٠١"},
        {"date_from": "9998-12-31"},
        {"date_to": "9998-12-31"},
        {"date_from": "1900-01-01"},
        {"amount_min": "١٠"},
        {"amount_min": "1e309"},
        {"page": "٣"},
        {"page": "99999"},
        {"text": "%_\\"},
        {"text": "ą" * 5000},
    ],
)
def test_r_x8_web_history_filters(member_client, params):
    client, member, current, savings = member_client
    _page(client.get(f"/accounts/{current.pk}/", params), str(params))
    _page(client.get(f"/accounts/{current.pk}/history.csv", params), "csv " + str(params))


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/1/statements/2026-13.pdf",
        "/accounts/1/statements/99999-1.pdf",
        "/accounts/1/statements/" + "9" * 30 + "-1.pdf",
        "/accounts/1/statements/2020-" + "9" * 400 + ".pdf",
        "/accounts/1/statements/" + "9" * 5000 + "-1.pdf",
    ],
)
def test_r_x8_web_statement_paths(member_client, path):
    client, member, current, savings = member_client
    path = path.replace("/accounts/1/", f"/accounts/{current.pk}/")
    _page(client.get(path), path[:80])


@pytest.mark.parametrize(
    "values",
    [
        {"name": "x" * 71, "account": EXTERNAL},
        {"name": "Jan", "account": "٠" * 26},
        {"name": "Jan", "account": EXTERNAL, "title": "t" * 141},
        {"name": "\u202eevil", "account": EXTERNAL},
    ],
)
def test_r_x8_web_payees(member_client, values):
    client, *_ = member_client
    _page(client.post("/payees/", values), str(values)[:80])


@pytest.mark.parametrize(
    "cookie,value",
    [
        ("skarbiec_lang", "xx"),
        ("skarbiec_lang", "a" * 4000),
        ("skarbiec_lang", "en-GB"),
        ("sessionid", "x" * 4000),
        ("csrftoken", "%C4%85"),
    ],
)
def test_r_x8_web_odd_cookies(settings, cookie, value):
    client = Client(raise_request_exception=False)
    client.cookies[cookie] = value
    for page in ["/", "/login/", "/accounts/", "/backoffice/login/"]:
        _page(client.get(page), f"{cookie} {page}")
    _page(client.post("/login/", {"login": "1234567890", "password": "x"}), "post login")


@pytest.mark.parametrize("lang", ["xx", "*", "en-US;q=abc", "a" * 5000, "en,,,,", "ą", "pl-PL"])
def test_r_x8_web_accept_language(settings, lang):
    client = Client(raise_request_exception=False, headers={"Accept-Language": lang})
    _page(client.get("/no-such-page/"), lang)
    _page(client.get("/login/"), lang)


def test_r_x8_web_english_error_page_when_asked():
    client = Client(raise_request_exception=False, headers={"Accept-Language": "en"})
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b'<html lang="en">' in response.content


def test_r_x8_set_language_odd(settings):
    client = Client(raise_request_exception=False)
    for data in [
        {"language": "xx"},
        {"language": "a" * 5000},
        {"language": "en", "next": "//evil"},
        {"language": ["en", "pl"]},
    ]:
        _page(client.post("/i18n/setlang/", data), str(data)[:60])


def test_r_x8_web_device_remove_odd_ids(member_client):
    client, *_ = member_client
    for device_id in ["x" * 5000, "%00", "..", "ą", "%E2%80%AE"]:
        _page(client.post(f"/settings/devices/{device_id}/remove/"), device_id[:20])


def test_r_x8_web_brand_logo_etag(member_client):
    client, member, *_ = member_client
    _page(
        client.get(f"/brand/{member.credit_union_id}/logo", headers={"If-None-Match": "x" * 8000}),
        "etag",
    )
    _page(client.get("/brand/logo", {"v": ["a", "b"]}), "v dup")


def test_r_x8_web_login_odd(settings):
    settings.RATE_LIMIT_PER_ADDRESS = (100_000, 60)
    member = make_member()
    client = Client(raise_request_exception=False)
    for login in [
        "٠" * 10,
        member.login.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
        " " + member.login + " ",
        member.login + "\u200b",
        "x" * 10000,
    ]:
        _page(client.post("/login/", {"login": login, "password": "Start#2024pl"}), login[:20])
    client2 = Client(raise_request_exception=False)
    assert (
        client2.post("/login/", {"login": member.login, "password": "Start#2024pl"}).status_code
        == 302
    )
    for code in ["٠" * 6, "1e5", "-0", "9" * 100, "１２３４５６"]:
        _page(client2.post("/login/code/", {"code": code}), code)


@pytest.mark.parametrize("number", ["1" * 5000, "9" * 20, "²", "٣"])
def test_r_x8_numbers_in_queries_and_paths_of_any_length(member_client, number):
    """A preselection or page number too long for int(), or digits that are not ASCII, read
    as no choice or as out of range: a page or a 400, never a 500."""
    client, member, current, savings = member_client
    for url in (
        f"/transfers/new/?from={number}",
        f"/transfers/new/?payee={number}",
        f"/accounts/{current.pk}/?page={number}",
    ):
        _page(client.get(url), url)
    if number.isascii():
        assert client.get(f"/accounts/{number}/").status_code == 400  # out of range, not 404
