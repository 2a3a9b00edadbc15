"""R-X8, R-M4: a WebAuthn credential id may have up to 1023 bytes (1364 base64url characters);
one longer than the stored column is refused as a failed registration, not a 500."""

import pytest

from skarbiec.channels.models import FingerprintCredential
from tests.api.authenticator import SoftwareAuthenticator
from tests.api.steps import ready_device

pytestmark = pytest.mark.django_db
ORIGIN = "https://localhost:8443"


@pytest.mark.parametrize("length", [300, 1023])
def test_r_x8_register_fingerprint_with_a_long_credential_id(device, length):
    ready_device(device)
    authenticator = SoftwareAuthenticator(ORIGIN)
    authenticator.credential_id = bytes(range(256)) * (length // 256) + b"\x01" * (length % 256)
    options = device.fingerprint_registration_options()
    response = device.request(
        "POST",
        "/fingerprint/register",
        auth=True,
        json={"challenge": options["challenge"], "credential": authenticator.create(options)},
    )
    assert response.status_code < 500, response.text[:300]
    if response.status_code >= 400:
        assert response.json()["code"] and response.json()["message"]
        assert not FingerprintCredential.objects.exists()
    else:
        stored = FingerprintCredential.objects.get()
        assert len(stored.credential_id) <= 400, f"{len(stored.credential_id)} characters stored"
