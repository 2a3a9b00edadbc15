"""R-X8: a lone surrogate (valid JSON "\\ud800") inside the fingerprint login's `credential`
object is a 422, not a 500 from encoding the signed payload."""

import pytest

from tests.api.authenticator import SoftwareAuthenticator
from tests.api.steps import ready_device
from tests.api.test_fingerprint_credential_id_length import ORIGIN

pytestmark = pytest.mark.django_db


def _enable_fingerprint(device):
    authenticator = SoftwareAuthenticator(ORIGIN)
    options = device.fingerprint_registration_options()
    device.register_fingerprint(options["challenge"], authenticator.create(options))
    return authenticator


def test_r_x8_fingerprint_login_with_a_lone_surrogate_in_the_credential_id(device):
    ready_device(device)
    _enable_fingerprint(device)
    options = device.fingerprint_login_options()
    raw = (
        '{{"device_id": "{}", "challenge": "{}", "credential": {{"id": "\\ud800"}}, '
        '"signature": "AAAA"}}'.format(device.device_id, options["challenge"])
    )
    response = device.request(
        "POST",
        "/login/fingerprint",
        content=raw.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code < 500, response.text[:300]
    assert response.json()["code"] and response.json()["message"]


def test_r_x8_fingerprint_register_with_a_lone_surrogate_in_the_credential(device):
    ready_device(device)
    options = device.fingerprint_registration_options()
    raw = (
        '{{"challenge": "{}", "credential": {{"id": "\\ud800", "rawId": "\\ud800", '
        '"type": "public-key", "response": {{"clientDataJSON": "\\ud800", '
        '"attestationObject": "\\ud800"}}}}}}'.format(options["challenge"])
    )
    response = device.request(
        "POST",
        "/fingerprint/register",
        auth=True,
        content=raw.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code < 500, response.text[:300]
    assert response.json()["code"] and response.json()["message"]
