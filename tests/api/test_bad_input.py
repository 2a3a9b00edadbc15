"""Bad input to every operation of the mobile API gets a 4xx JSON error with a code and a
message, never a 500 (driven by the API's own OpenAPI schema, so new endpoints are covered)."""

import itertools
import json
import re

import pytest

from skarbiec.api.urls import api
from tests.api.steps import ready_device

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
