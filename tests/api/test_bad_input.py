"""Bad input to every operation of the mobile API gets a 4xx JSON error with a code and a
message, never a 500 (driven by the API's own OpenAPI schema, so new endpoints are covered);
the database unavailable is a 503 JSON with Retry-After (R-X8)."""

import itertools
import json
import re

import pytest
from django.conf import settings

from skarbiec.api import urls as api_urls
from skarbiec.api.urls import api
from skarbiec.ledger.accounts import open_account
from skarbiec.ledger.models import Account
from tests.api.steps import WEB, ready_device
from tests.ledger.helpers import EXTERNAL
from tests.outage import database_unreachable

pytestmark = pytest.mark.django_db

NASTY_VALUES = [None, "", "ą" * 3000, "' OR 1=1 --", -1, 10**30, 1.5, [], {}, True, "\x00"]
NASTY_PATH_PARAMS = [
    "0",
    "999999999",
    "abc",
    "-1",
    "1" * 40,
    "%00",
]  # non-ASCII paths: httpx WSGITransport mis-decodes them


def _operations() -> list[tuple[str, str, dict]]:
    schema = api.get_openapi_schema()
    ops = []
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            ops.append((method.upper(), path.removeprefix("/api/mobile/v1"), op))
    return ops


def _body_properties(op: dict) -> list[str]:
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = body.get("schema", {}).get("$ref", "")
    if not ref:
        return []
    name = ref.rsplit("/", 1)[-1]
    component = api.get_openapi_schema()["components"]["schemas"][name]
    return list(component.get("properties", {}))


def _bodies(op: dict) -> list[object]:
    props = _body_properties(op)
    bodies: list[object] = [None, {}, [], "not an object", 12]
    for value in NASTY_VALUES:
        bodies.append(dict.fromkeys(props, value))
    return bodies


def _assert_clear_error(response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400 and response.headers.get("content-type", "").startswith(
        "application/json"
    ):
        body = response.json()
        assert body.get("code") and body.get("message"), f"{what}: {body}"


@pytest.mark.parametrize(("method", "path", "op"), _operations(), ids=lambda v: str(v)[:40])
def test_every_operation_answers_bad_input_with_a_4xx(device, method, path, op):
    ready_device(device)
    paths = [path]
    if "{" in path:
        paths = [re.sub(r"\{[^}]+\}", value, path) for value in NASTY_PATH_PARAMS]
    for concrete, body, auth in itertools.product(paths, _bodies(op), (True, False)):
        if method == "GET":
            query = {"page": "x", "amount_min": "-", "text": "a\x00b"}
            response = device.request(method, concrete, auth=auth, params=query)
        else:
            response = device.request(
                method,
                concrete,
                auth=auth,
                content=json.dumps(body) if body is not None else b"{not json",
                headers={"Content-Type": "application/json"},
            )
        _assert_clear_error(response, f"{method} {concrete} auth={auth} body={str(body)[:60]}")


# ---------------------------------------------------------------------------------------------
# Clean edges (R-X8): numbers out of range, oversized bodies, NUL characters, the database
# unavailable; every operation, as the OpenAPI document lists them.

OUT_OF_RANGE = ["0", str(2**63), "9" * 20]
FIVE_MB = b"x" * (5 * 1024 * 1024)


def _concrete(path: str, value: str = "1") -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def _integer_query_params(op: dict) -> list[str]:
    return [
        p["name"]
        for p in op.get("parameters", [])
        if p["in"] == "query" and p["schema"].get("type") == "integer"
    ]


def _integer_body_properties(op: dict) -> list[str]:
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = body.get("schema", {}).get("$ref", "")
    if not ref:
        return []
    component = api.get_openapi_schema()["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return [
        name
        for name, prop in component.get("properties", {}).items()
        if prop.get("type") == "integer"
        or any(choice.get("type") == "integer" for choice in prop.get("anyOf", []))
    ]


def _assert_json_error(response, status: int, code: str, what: str) -> None:
    assert response.status_code == status, f"{what}: {response.status_code} {response.text[:300]}"
    assert response.headers["content-type"].startswith("application/json"), what
    assert response.json()["code"] == code, f"{what}: {response.json()}"
    assert response.json()["message"], what


@pytest.mark.parametrize(("method", "path", "op"), _operations(), ids=lambda v: str(v)[:40])
def test_r_x8_every_number_out_of_range_is_a_422(device, method, path, op):
    ready_device(device)
    requests = []
    if "{" in path:
        requests += [(_concrete(path, value), {}, None) for value in OUT_OF_RANGE]
    for name in _integer_query_params(op):
        requests += [(path, {name: value}, None) for value in (str(2**62), "0", "9" * 30)]
    for name in _integer_body_properties(op):
        requests += [(_concrete(path), {}, {name: value}) for value in (2**63, -(2**63) - 1)]
    for concrete, params, body in requests:
        response = device.request(method, _concrete(concrete), auth=True, params=params, json=body)
        _assert_json_error(response, 422, "invalid_input", f"{method} {concrete} {params} {body}")


@pytest.mark.parametrize(("method", "path", "op"), _operations(), ids=lambda v: str(v)[:40])
def test_r_x8_every_operation_refuses_a_5_mb_body_and_nul_characters(device, method, path, op):
    ready_device(device)
    for auth in (True, False):
        large = device.request(
            method,
            _concrete(path),
            auth=auth,
            content=FIVE_MB,
            headers={"Content-Type": "application/json"},
        )
        _assert_json_error(large, 413, "request_too_large", f"{method} {path} 5 MB")
        nul = device.request(method, _concrete(path), auth=auth, params={"device_id": "a\x00b"})
        _assert_json_error(nul, 422, "invalid_input", f"{method} {path} NUL in the query")


def test_r_x8_history_page_2_to_the_62_is_a_422_not_a_500(device):
    member = ready_device(device)
    account = open_account(member, Account.Kind.CURRENT, WEB)
    for params in ({"page": str(2**62)}, {"page_size": str(2**62)}, {"page": "100001"}):
        response = device.request(
            "GET", f"/accounts/{account.pk}/history", auth=True, params=params
        )
        _assert_json_error(response, 422, "invalid_input", str(params))
    ok = device.request("GET", f"/accounts/{account.pk}/history", auth=True, params={"page": 9})
    assert ok.status_code == 200 and ok.json()["items"] == []


def test_r_x8_unknown_address_and_method_answer_json(device):
    _assert_json_error(device.request("GET", "/no-such-thing"), 404, "not_found", "404")
    wrong_method = device.request("GET", "/challenge")
    _assert_json_error(wrong_method, 405, "method_not_allowed", "405")
    assert wrong_method.headers["allow"] == "POST"


@pytest.mark.django_db(transaction=True)
def test_r_x8_every_operation_answers_503_json_while_the_database_is_unreachable(device):
    ready_device(device)
    unavailable = 0
    with database_unreachable():
        for method, path, op in _operations():
            for auth in (True, False):
                response = device.request(method, _concrete(path), auth=auth, json={})
                what = f"{method} {path} auth={auth}"
                if auth and op.get("security"):
                    # The session is looked up first: nothing answers without the database.
                    assert response.status_code == 503, what
                if response.status_code != 503:
                    # Refused before any database work: no session, an unreadable body.
                    assert response.status_code in (401, 422), what
                    continue
                _assert_json_error(response, 503, "service_unavailable", what)
                assert int(response.headers["retry-after"]) > 0, what
                unavailable += 1
    assert unavailable > 20
    assert device.request("GET", "/me", auth=True).status_code == 200


def test_r_x8_openapi_documents_the_edge_refusals_and_the_bounds():
    schema = api.get_openapi_schema()
    error_ref = "#/components/schemas/ErrorOut"
    for method, path, op in _operations():
        responses = {str(status): answer for status, answer in op["responses"].items()}
        for status in ("413", "422", "429", "503"):
            content = responses[status]["content"]["application/json"]
            assert content["schema"]["$ref"] == error_ref, (method, path, status)
        for param in op.get("parameters", []):
            if param["schema"].get("type") == "integer":
                assert "maximum" in param["schema"], (method, path, param["name"])
    for name, component in schema["components"]["schemas"].items():
        if not name.endswith("In"):
            continue
        for prop_name, prop in component.get("properties", {}).items():
            choices = prop.get("anyOf", [prop])
            for choice in choices:
                if choice.get("type") == "integer":
                    assert "maximum" in choice, (name, prop_name)


# Strings the API refuses when empty carry minLength 1, so clients learn it from the document.
REQUIRED_TEXT = {
    "ActivationIn": ["login", "password", "challenge", "signature"],
    "ActivationConfirmIn": ["activation_id", "code"],
    "SetPinIn": ["device_id", "pin", "pin_proof", "challenge", "signature"],
    "PinLoginIn": ["device_id", "pin_proof", "challenge", "signature"],
    "FingerprintRegisterIn": ["challenge"],
    "DeviceRefIn": ["device_id"],
    "FingerprintLoginIn": ["device_id", "challenge", "signature"],
    "FailedFingerprintIn": ["device_id", "challenge", "signature"],
    "TransferIn": ["payee_account", "title", "amount"],
    "CodeIn": ["code"],
    "PayeeIn": ["name", "account"],
    "LimitsIn": ["per_transaction", "daily", "monthly"],
}


def test_r_x8_openapi_marks_the_empty_strings_it_refuses():
    components = api.get_openapi_schema()["components"]["schemas"]
    for name, fields in REQUIRED_TEXT.items():
        for field in fields:
            assert components[name]["properties"][field].get("minLength") == 1, (name, field)


def test_r_x8_documented_non_empty_strings_are_refused_with_the_services_message(device):
    member = ready_device(device)
    account = open_account(member, Account.Kind.CURRENT, WEB)
    payee = {"name": "", "account": EXTERNAL}
    _assert_json_error(
        device.request("POST", "/payees", auth=True, json=payee), 400, "invalid_order", "name"
    )
    transfer = {
        "from_account_id": account.pk,
        "payee_account": EXTERNAL,
        "payee_name": "Jan",
        "title": "",
        "amount": "1,00",
        "idempotency_key": "k-empty-title",
    }
    response = device.request("POST", "/transfers", auth=True, json=transfer)
    _assert_json_error(response, 400, "invalid_order", "title")
    assert response.json()["field"] == "title"


def test_r_x8_openapi_json_is_built_once_per_process(device, monkeypatch):
    calls = []
    real = api_urls.get_schema

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(api_urls, "get_schema", counting)
    monkeypatch.setattr(api, "_openapi_schemas", {})
    first = device.request("GET", "/openapi.json")
    second = device.request("GET", "/openapi.json")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert len(calls) == 1


ODD_SPELLINGS_OF_ONE = ["1.0", "+1", "1_0", "01.0"]


@pytest.mark.parametrize(("method", "path", "op"), _operations(), ids=lambda v: str(v)[:40])
def test_r_x8_a_record_answers_to_its_id_written_in_digits_only(device, method, path, op):
    """Outside review, 7 December: GET /transfers/1.0 answered transfer 1."""
    ready_device(device)
    if "{" not in path:
        pytest.skip("no path parameter")
    for value in ODD_SPELLINGS_OF_ONE:
        response = device.request(method, _concrete(path, value), auth=True, json={})
        if path.count("{") == 1:
            _assert_json_error(response, 422, "invalid_input", f"{method} {path} {value}")
        else:
            assert response.status_code in (404, 422), f"{method} {path} {value}"


def _operations_with_a_body() -> list[tuple[str, str, dict]]:
    return [(m, p, op) for m, p, op in _operations() if op.get("requestBody")]


@pytest.mark.parametrize(
    ("method", "path", "op"), _operations_with_a_body(), ids=lambda v: str(v)[:40]
)
def test_r_x8_a_body_naming_a_field_twice_or_a_key_with_nul_is_a_422(device, method, path, op):
    """Outside review, 7 December: `{"amount_minor":100,"amount_minor":200}` booked 200, and a
    key `"x\\u0000"` passed. Neither is read at all now, on every operation with a body."""
    ready_device(device)
    for raw, what in (
        (b'{"challenge": "a", "challenge": "b"}', "a field twice"),
        (b'{"x\\u0000": 1}', "NUL in a key"),
        (b'{"outer": {"k": 1, "k": 2}}', "a field twice, nested"),
    ):
        response = device.request(
            method,
            _concrete(path),
            auth=True,
            content=raw,
            headers={"Content-Type": "application/json"},
        )
        _assert_json_error(response, 422, "invalid_input", f"{method} {path} {what}")


def test_r_x8_a_body_sent_in_chunks_is_refused_with_411_not_read_as_empty(device):
    """Outside review, 7 December: a chunked body was read as empty (`required`)."""
    ready_device(device)

    def chunks():
        yield b'{"amount_minor": '
        yield b"100}"

    response = device.request(
        "POST",
        "/transfers",
        auth=True,
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert response.request.headers.get("transfer-encoding") == "chunked"
    _assert_json_error(response, 411, "length_required", "chunked")


@pytest.mark.parametrize("value", [True, 1.0, 1.5, "1.0", " 1"])
def test_r_x8_an_integer_in_a_body_is_a_json_integer(device, value):
    """Review of 7 December: `"from_account_id": true` was taken as account 1."""
    member = ready_device(device)
    account = open_account(member, Account.Kind.CURRENT, WEB)
    body = {
        "from_account_id": value,
        "payee_account": account.number,
        "amount_minor": 100,
        "title": "x",
        "idempotency_key": "k-int-" + str(value),
    }
    response = device.request("POST", "/transfers", auth=True, json=body)
    _assert_json_error(response, 422, "invalid_input", str(value))


def test_r_x8_an_api_body_over_64_kib_is_refused_before_it_is_parsed(device, monkeypatch):
    """A crafted megabyte of JSON costs half a second of CPU to parse before any rate limit can
    refuse it; the API's bodies are small, so over API_MAX_REQUEST_BYTES it is refused
    unread."""
    parsed: list[int] = []
    real = api_urls.RequestBodyParser.parse_body
    monkeypatch.setattr(
        api_urls.RequestBodyParser,
        "parse_body",
        lambda self, request: parsed.append(1) or real(self, request),
    )
    crafted = b'{"credential": [' + b"[[]]," * (settings.API_MAX_REQUEST_BYTES // 5) + b"[]]}"
    refused = device.request(
        "POST",
        "/login/fingerprint",
        content=crafted,
        headers={"Content-Type": "application/json"},
    )
    _assert_json_error(refused, 413, "request_too_large", "64 KiB + 1")
    assert parsed == []
    assert settings.API_MAX_REQUEST_BYTES == 64 * 1024 < settings.MAX_REQUEST_BYTES


def _with_body(op: dict) -> bool:
    return bool(_body_properties(op))


@pytest.mark.parametrize(
    ("method", "path", "op"),
    [o for o in _operations() if _with_body(o[2])],
    ids=lambda v: str(v)[:40],
)
def test_r_x8_a_body_that_is_not_a_json_object_is_a_422(device, method, path, op):
    """Ninja's schemas read attributes of whatever they are given: `[]` for the limits was
    taken as an object of defaults (and answered `invalid_amount`)."""
    ready_device(device)
    for body in ([], [1, 2], "x", 5, True):
        response = device.request(method, _concrete(path), auth=True, json=body)
        _assert_json_error(response, 422, "invalid_input", f"{method} {path} {body!r}")


@pytest.mark.parametrize("device_info", [[1, 2], "android", 5, True, [["platform", "android"]]])
def test_r_m8_r_x8_device_information_that_is_not_an_object_is_a_422(device, device_info):
    """It was taken as no information at all, and the activation went on to the password."""
    body = {
        "login": "1234567890",
        "password": "x",
        "public_key": "x",
        "device": device_info,
        "challenge": "x",
        "signature": "x",
    }
    response = device.request("POST", "/activation", json=body)
    _assert_json_error(response, 422, "invalid_input", repr(device_info))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_r_x8_a_json_body_not_in_utf_8_is_a_400(device, encoding):
    """docs/mobile-api.md: a body that is not UTF-8 cannot be read as JSON (400); Python's
    json read UTF-16 and UTF-32 bytes as well, and such transfers were created."""
    member = ready_device(device)
    account = open_account(member, Account.Kind.CURRENT, WEB)
    body = {
        "from_account_id": account.pk,
        "payee_account": EXTERNAL,
        "payee_name": "Jan",
        "amount_minor": 100,
        "title": "x",
        "idempotency_key": "k-" + encoding,
    }
    response = device.request(
        "POST",
        "/transfers",
        auth=True,
        content=json.dumps(body).encode(encoding),
        headers={"Content-Type": "application/json"},
    )
    _assert_json_error(response, 400, "invalid_input", encoding)
