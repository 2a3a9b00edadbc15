"""Hostile input to the accounts/transfers/limits part of the mobile API."""

import json

import pytest

from skarbiec.ledger.accounts import deposit_cash, open_account
from skarbiec.ledger.models import Account, Order, TrustedPayee
from tests.api.steps import WEB, ready_device
from tests.ledger.helpers import EXTERNAL

pytestmark = pytest.mark.django_db


def _json_4xx(response, what):
    assert 400 <= response.status_code < 500, (
        f"{what}: {response.status_code} {response.text[:300]}"
    )
    assert response.headers["content-type"].startswith("application/json"), what
    body = response.json()
    assert body.get("code") and body.get("message"), f"{what}: {body}"


def _funded(device):
    member = ready_device(device)
    current = open_account(member, Account.Kind.CURRENT, WEB)
    savings = open_account(member, Account.Kind.SAVINGS, WEB)
    deposit_cash(current, 1_000_000, WEB)
    return member, current, savings


ODD_AMOUNTS = [
    "1e3",
    "١٠",
    "0,001",
    "-5",
    "  5 ",
    "NaN",
    "inf",
    "1e309",
    "-0",
    "0",
    "٣,٠٠",
    "1_000",
    "+5",
    "0x10",
    "5.",
    ".5",
    "1 234,567",
    "9" * 40,
    "1,2,3",
    "١٢٣",
]


@pytest.mark.parametrize("amount", ODD_AMOUNTS)
def test_r_x8_transfer_amount_odd_text(device, amount):
    member, current, _s = _funded(device)
    before = Order.objects.count()
    body = {
        "from_account_id": current.pk,
        "payee_account": EXTERNAL,
        "payee_name": "Jan",
        "title": "t",
        "amount": amount,
        "idempotency_key": "k-odd",
    }
    response = device.request("POST", "/transfers", auth=True, json=body)
    if response.status_code == 200:
        # accepted: it must be what a person meant
        assert amount.strip() in ("5", "5.", "+5") or amount in ("  5 ",), (amount, response.json())
    else:
        _json_4xx(response, amount)
        assert Order.objects.count() == before


@pytest.mark.parametrize("value", [1e309, "NaN", True, 1.0, -0.0, 2**64, [], {}])
def test_r_x8_transfer_amount_minor_wrong_types(device, value):
    member, current, _s = _funded(device)
    raw = json.dumps(
        {
            "from_account_id": current.pk,
            "payee_account": EXTERNAL,
            "payee_name": "Jan",
            "title": "t",
            "idempotency_key": "k-odd",
        }
    )[:-1]
    raw += (
        ', "amount_minor": '
        + (
            json.dumps(value)
            if not isinstance(value, float) or value == value and abs(value) != float("inf")
            else ("1e309" if value > 0 else "NaN")
        )
        + "}"
    )
    response = device.request(
        "POST",
        "/transfers",
        auth=True,
        content=raw.encode(),
        headers={"Content-Type": "application/json"},
    )
    _json_4xx(response, raw)
    assert not Order.objects.exists()


@pytest.mark.parametrize("key", ["x" * 65, "x" * 5000, "a b", " "])
def test_r_x8_transfer_idempotency_header_odd(device, key):
    member, current, savings = _funded(device)
    body = {
        "from_account_id": current.pk,
        "payee_account": savings.number,
        "title": "t",
        "amount": "1,00",
    }
    response = device.request(
        "POST", "/transfers", auth=True, json=body, headers={"Idempotency-Key": key.encode("utf-8")}
    )
    _json_4xx(response, repr(key))
    assert not Order.objects.exists()


def test_r_x8_transfer_duplicate_idempotency_headers(device):
    member, current, savings = _funded(device)
    body = {
        "from_account_id": current.pk,
        "payee_account": savings.number,
        "title": "t",
        "amount": "1,00",
    }
    response = device.request(
        "POST",
        "/transfers",
        auth=True,
        json=body,
        headers=[("Idempotency-Key", "a1"), ("Idempotency-Key", "b2")],
    )
    assert response.status_code < 500, response.text


@pytest.mark.parametrize(
    "title",
    [
        "W" * 140,
        "😀" * 140,
        "\u202eevil",
        "a\u0301" * 70,
        "\uffff\ufffe",
        "\U0010ffff",
        "x\x85y",
        "\u200b" * 10,
    ],
)
def test_r_x8_own_transfer_odd_title_and_its_pdf(device, title):
    member, current, savings = _funded(device)
    body = {
        "from_account_id": current.pk,
        "payee_account": savings.number,
        "title": title,
        "amount": "1,00",
        "idempotency_key": "k-title",
    }
    response = device.request("POST", "/transfers", auth=True, json=body)
    if response.status_code != 200:
        _json_4xx(response, repr(title))
        return
    order_id = response.json()["id"]
    pdf = device.request("GET", f"/transfers/{order_id}/confirmation.pdf", auth=True)
    assert pdf.status_code == 200, (pdf.status_code, pdf.text[:300])
    overview = device.request("GET", "/overview", auth=True)
    assert overview.status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "2026-02-30"},
        {"date_from": "0000-01-01"},
        {"date_from": "99999-01-01"},
        {"date_from": "1899-12-31"},
        {"date_to": "9999-12-31"},
        {"date_from": "2026-01-01T00:00"},
        {"date_from": "١٩٩٠-٠١-٠١"},
        {"date_from": "1e3"},
        {"amount_min": "١٠"},
        {"amount_min": "1e309"},
        {"amount_max": "-1"},
        {"page_size": "1e3"},
        {"page": "٣"},
        {"page": "-0"},
        {"page": "1.0"},
        {"page_size": "0"},
        {"text": "%"},
        {"text": "_"},
        {"text": "\\"},
        {"text": "ą" * 5000},
        {"date_from": "2026-05-01", "date_to": "2026-01-01"},
        {"date_from": "1900-01-01"},
        {"date_to": "9998-12-31"},
    ],
)
def test_r_x8_history_filters(device, params):
    member, current, _s = _funded(device)
    response = device.request("GET", f"/accounts/{current.pk}/history", auth=True, params=params)
    if response.status_code != 200:
        _json_4xx(response, str(params))


def test_r_x8_history_duplicate_query_params(device):
    member, current, _s = _funded(device)
    response = device.request(
        "GET",
        f"/accounts/{current.pk}/history?page=1&page=x&date_from=2026-01-01&date_from=zz",
        auth=True,
    )
    assert response.status_code < 500, response.text


@pytest.mark.parametrize("months", ["0", "13", "-1", "٣", "1e1", str(2**63), "NaN"])
def test_r_x8_overview_months(device, months):
    ready_device(device)
    response = device.request("GET", "/overview", auth=True, params={"months": months})
    if response.status_code != 200:
        _json_4xx(response, months)


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/1/statements/2026-13.pdf",
        "/accounts/1/statements/99999-1.pdf",
        "/accounts/1/statements/1999-01.pdf",
        "/accounts/1/statements/2026--1.pdf",
        "/accounts/1/statements/" + "9" * 30 + "-1.pdf",
        "/accounts/1/statements/2020-" + "9" * 30 + ".pdf",
    ],
)
def test_r_x8_statement_paths(device, path):
    member, current, _s = _funded(device)
    path = path.replace("/accounts/1/", f"/accounts/{current.pk}/")
    response = device.request("GET", path, auth=True)
    _json_4xx(response, path)


@pytest.mark.parametrize(
    "limits",
    [
        {"per_transaction": "١٠", "daily": "10", "monthly": "10"},
        {"per_transaction": "1e3", "daily": "10", "monthly": "10"},
        {"per_transaction_minor": 2**63 - 1, "daily_minor": 2**63 - 1, "monthly_minor": 2**63 - 1},
        {"per_transaction_minor": 0, "daily_minor": 0, "monthly_minor": 0},
        {"per_transaction_minor": -1, "daily_minor": 1, "monthly_minor": 1},
        {"per_transaction": "5", "per_transaction_minor": 500, "daily": "1", "monthly": "1"},
        {"per_transaction": "100", "daily": "1", "monthly": "1"},
    ],
)
def test_r_x8_limits_odd(device, limits):
    ready_device(device)
    response = device.request("POST", "/limits", auth=True, json=limits)
    if response.status_code != 200:
        _json_4xx(response, str(limits))


@pytest.mark.parametrize(
    "account",
    [
        "PL" + "٠" * 26,
        "٠" * 26,
        "PL",
        "pl" + EXTERNAL,
        "DE89370400440532013000",
        EXTERNAL + "\u200b",
        " " * 64,
    ],
)
def test_r_x8_payee_odd_accounts(device, account):
    ready_device(device)
    response = device.request(
        "POST", "/payees", auth=True, json={"name": "Jan", "account": account, "trusted": False}
    )
    if response.status_code != 200:
        _json_4xx(response, account)
        assert not TrustedPayee.objects.exists()


def test_r_x8_wrong_content_types(device):
    member, current, savings = _funded(device)
    body = json.dumps(
        {
            "from_account_id": current.pk,
            "payee_account": savings.number,
            "title": "t",
            "amount": "1,00",
            "idempotency_key": "k-ct",
        }
    )
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "multipart/form-data; boundary=xx",
        "application/json; charset=utf-16",
        "application/json; charset=bogus",
        "",
    ]:
        response = device.request(
            "POST", "/transfers", auth=True, content=body.encode(), headers={"Content-Type": ct}
        )
        assert response.status_code < 500, (ct, response.status_code, response.text[:300])
        if response.status_code >= 400:
            _json_4xx(response, ct)


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe{",
        b'{"title": "\xff"}',
        b"\xef\xbb\xbf{}",
        b'{"a":' * 5000,
        b"[" * 100000,
        b"1" * 100000,
        b'{"from_account_id": 1e400}',
        b'{"from_account_id": NaN}',
        b'{"from_account_id": Infinity}',
    ],
)
def test_r_x8_non_utf8_and_deep_json(device, raw):
    ready_device(device)
    for path in ["/transfers", "/payees", "/limits", "/activation", "/login/pin"]:
        response = device.request(
            "POST", path, auth=True, content=raw, headers={"Content-Type": "application/json"}
        )
        _json_4xx(response, f"{path} {raw[:30]!r}")


@pytest.mark.parametrize(
    "lang",
    [
        "xx",
        "*",
        "en-US;q=abc",
        "pl;q=0, en;q=1",
        "a" * 5000,
        "en,,,,",
        "zh-Hant-TW-x-private-" + "a" * 100,
    ],
)
def test_r_x8_accept_language_tricks(device, lang):
    response = device.request("GET", "/me", headers={"Accept-Language": lang.encode()})
    _json_4xx(response, lang)


def test_r_x8_accept_language_english_error():
    from skarbiec.client import DeviceClient

    client = DeviceClient.in_process(language="en")
    r = client.request("GET", "/me")
    assert r.status_code == 401 and "Log in" in r.json()["message"], r.text
    client.close()
    client = DeviceClient.in_process(language="pl")
    r = client.request("GET", "/me")
    assert r.status_code == 401 and "Log in" not in r.json()["message"], r.text
    client.close()


@pytest.mark.parametrize("order_id", ["0x1", "1e3", "+1", " 1", "1 ", "01"])
def test_r_x8_order_ids_odd(device, order_id):
    ready_device(device)
    response = device.request("GET", f"/transfers/{order_id}", auth=True)
    _json_4xx(response, order_id)


def _django_client():
    from django.test import Client

    return Client(raise_request_exception=False)


@pytest.mark.parametrize("key", ["ą", "٣", "é" * 64])
def test_r_x8_transfer_idempotency_header_non_ascii_django_client(device, key):
    member, current, savings = _funded(device)
    body = {
        "from_account_id": current.pk,
        "payee_account": savings.number,
        "title": "t",
        "amount": "1,00",
    }
    client = _django_client()
    response = client.post(
        "/api/mobile/v1/transfers",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {device.token}", "Idempotency-Key": key},
    )
    _json_4xx(response_adapter(response), repr(key))
    assert not Order.objects.exists()


class response_adapter:
    def __init__(self, r):
        self.status_code = r.status_code
        self.headers = {"content-type": r.get("Content-Type", "")}
        self.text = r.content.decode(errors="replace")
        self._r = r

    def json(self):
        return json.loads(self._r.content)


@pytest.mark.parametrize(
    "path",
    [
        "/transfers/\u0663",
        "/accounts/\u0663/history",
        "/accounts/1/statements/\u0663-1.pdf",
        "/accounts/1/statements/2020-\u0661.pdf",
        "/transfers/\U0001d7d9",
    ],
)
def test_r_x8_non_ascii_digits_in_path_django_client(device, path):
    ready_device(device)
    client = _django_client()
    response = client.get(
        "/api/mobile/v1" + path, headers={"Authorization": f"Bearer {device.token}"}
    )
    _json_4xx(response_adapter(response), path)


@pytest.mark.parametrize("lang", ["ą", "pl\u2028", "\ud7ff"])
def test_r_x8_accept_language_non_ascii_django_client(device, lang):
    client = _django_client()
    response = client.get("/api/mobile/v1/me", headers={"Accept-Language": lang})
    _json_4xx(response_adapter(response), lang)
