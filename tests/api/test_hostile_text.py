"""Lone surrogates (valid JSON escapes, not encodable as UTF-8) in API string fields."""

import pytest

from skarbiec.ledger.accounts import open_account
from skarbiec.ledger.models import Account, Order, TrustedPayee
from tests.api.steps import WEB, ready_device
from tests.ledger.helpers import EXTERNAL

pytestmark = pytest.mark.django_db


def _post(device, path, raw: str, **headers):
    return device.request(
        "POST",
        path,
        auth=True,
        content=raw.encode(),
        headers={"Content-Type": "application/json", **headers},
    )


def _clear(response, what):
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"
    assert response.headers["content-type"].startswith("application/json"), what
    body = response.json()
    assert body.get("code") and body.get("message"), body


@pytest.mark.parametrize("field", ["title", "payee_name"])
def test_r_x8_transfer_text_with_a_lone_surrogate(device, field):
    member = ready_device(device)
    account = open_account(member, Account.Kind.CURRENT, WEB)
    texts = {"title": '"ok"', "payee_name": '"Jan"', field: '"x\\ud800y"'}
    raw = (
        f'{{"from_account_id": {account.pk}, "payee_account": "{EXTERNAL}", '
        f'"payee_name": {texts["payee_name"]}, "title": {texts["title"]}, '
        f'"amount": "1,00", "idempotency_key": "k-sur-{field}"}}'
    )
    _clear(_post(device, "/transfers", raw), f"{field} surrogate")
    assert not Order.objects.filter(member=member).exists()


@pytest.mark.parametrize("field", ["name", "title"])
def test_r_x8_payee_text_with_a_lone_surrogate(device, field):
    member = ready_device(device)
    texts = {"name": '"Jan"', "title": '"ok"', field: '"Jan\\ud800"'}
    raw = (
        f'{{"name": {texts["name"]}, "account": "{EXTERNAL}", "title": {texts["title"]}, '
        '"trusted": false}'
    )
    _clear(_post(device, "/payees", raw), f"payee {field} surrogate")
    assert not TrustedPayee.objects.filter(member=member).exists()


def test_r_x8_history_text_with_lone_surrogate_in_query_is_decoded_safely(device):
    member = ready_device(device)
    account = open_account(member, Account.Kind.CURRENT, WEB)
    response = device.request("GET", f"/accounts/{account.pk}/history?text=%ED%A0%80", auth=True)
    assert response.status_code < 500


def test_r_x8_activation_login_with_lone_surrogate(device):
    raw = (
        '{"login": "\\ud800abc", "password": "x", "public_key": "AAAA", '
        '"challenge": "c", "signature": "s"}'
    )
    response = device.request(
        "POST", "/activation", content=raw.encode(), headers={"Content-Type": "application/json"}
    )
    _clear(response, "activation login")


def test_r_x8_activation_device_name_with_lone_surrogate(device):
    member = ready_device(device)
    challenge = device.challenge()
    raw = (
        f'{{"login": "{member.login}", "password": "x", "public_key": "AAAA", '
        '"device": {"name": "\\ud800"},'
        f'"challenge": "{challenge}", "signature": "s"}}'
    )
    response = device.request(
        "POST", "/activation", content=raw.encode(), headers={"Content-Type": "application/json"}
    )
    _clear(response, "activation device name")


def test_r_x8_code_with_lone_surrogate(device):
    ready_device(device)
    response = _post(device, "/limits/1/confirm", '{"code": "\\ud800"}')
    _clear(response, "code")


def test_r_x8_limits_with_lone_surrogate(device):
    ready_device(device)
    raw = '{"per_transaction": "1\\ud800", "daily": "1", "monthly": "1"}'
    _clear(_post(device, "/limits", raw), "limits")


def test_r_x8_pin_login_with_lone_surrogates(device):
    ready_device(device)
    raw = (
        '{"device_id": "\\ud800", "pin_proof": "\\ud800", "challenge": "\\ud800", '
        '"signature": "\\ud800"}'
    )
    _clear(_post(device, "/login/pin", raw), "login pin")


def test_r_x8_fingerprint_login_with_lone_surrogates(device):
    ready_device(device)
    raw = (
        '{"device_id": "\\ud800", "challenge": "\\ud800", "credential": {"id": "\\ud800"},'
        ' "signature": "\\ud800"}'
    )
    _clear(_post(device, "/login/fingerprint", raw), "login fp")
    raw = '{"device_id": "\\ud800", "challenge": "\\ud800", "signature": "\\ud800"}'
    _clear(_post(device, "/login/fingerprint/failed", raw), "fp failed")
    _clear(_post(device, "/login/fingerprint/options", '{"device_id": "\\ud800"}'), "fp opts")


def test_r_x8_fingerprint_register_with_lone_surrogates(device):
    ready_device(device)
    raw = '{"challenge": "\\ud800", "credential": {"id": "\\ud800", "\\ud800": 1}}'
    _clear(_post(device, "/fingerprint/register", raw), "fp register")


def test_r_x8_set_pin_with_lone_surrogates(device):
    raw = (
        '{"device_id": "\\ud800", "pin": "\\ud800", "pin_proof": "x", "challenge": "c",'
        ' "signature": "s"}'
    )
    _clear(_post(device, "/pin", raw), "set pin")


def test_r_x8_activation_confirm_with_lone_surrogates(device):
    _clear(
        _post(device, "/activation/confirm", '{"activation_id": "\\ud800", "code": "\\ud800"}'),
        "activation confirm",
    )
