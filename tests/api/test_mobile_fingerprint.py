"""Fingerprint login = WebAuthn with user verification required (R-M4, R-M5)."""

import pytest

from skarbiec.channels.mobile.fingerprint import ENROLMENT_AFTER_PIN_SECONDS
from skarbiec.channels.models import FingerprintCredential, MobileChannel
from skarbiec.client import ApiError
from skarbiec.core import clock
from tests.api.authenticator import SoftwareAuthenticator
from tests.api.steps import PIN, ready_device

pytestmark = pytest.mark.django_db
ORIGIN = "https://localhost:8443"


def enable_fingerprint(device) -> SoftwareAuthenticator:
    authenticator = SoftwareAuthenticator(ORIGIN)
    options = device.fingerprint_registration_options()
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["authenticatorSelection"]["authenticatorAttachment"] == "platform"
    assert options["rp"]["id"] == "localhost"
    device.register_fingerprint(options["challenge"], authenticator.create(options))
    return authenticator


def fingerprint_login(device, authenticator, **kwargs):
    options = device.fingerprint_login_options()
    assert options["userVerification"] == "required"
    return device.login_fingerprint(options["challenge"], authenticator.get(options, **kwargs))


def test_r_m4_register_then_log_in_with_fingerprint(device):
    member = ready_device(device)
    authenticator = enable_fingerprint(device)
    device.logout()
    assert fingerprint_login(device, authenticator)["token"]
    assert device.me()["device_id"] == device.device_id
    assert FingerprintCredential.objects.get().sign_count == 1
    assert MobileChannel.objects.get(member=member).failed_auth_attempts == 0


def test_r_m4_registration_without_user_verification_is_refused(device):
    ready_device(device)
    options = device.fingerprint_registration_options()
    with pytest.raises(ApiError) as e:
        device.register_fingerprint(
            options["challenge"], SoftwareAuthenticator(ORIGIN).create(options, user_verified=False)
        )
    # A refusal of the registration, in the request's language: the session goes on.
    assert (e.value.status, e.value.code) == (400, "fingerprint_registration_refused")
    assert "did not confirm it with a fingerprint" in e.value.body["message"]
    assert not FingerprintCredential.objects.exists()
    assert device.me()["device_id"] == device.device_id


@pytest.mark.parametrize(
    "credential", [{}, {"id": "!!", "rawId": "!!", "type": "public-key"}, "garbage", [1]]
)
def test_r_m4_r_x8_an_unreadable_registration_is_invalid_input_in_the_members_language(
    device, credential
):
    """Outside review, 7 December: a malformed credential answered 401 with the library's
    English text inside the Polish message."""
    ready_device(device)
    options = device.fingerprint_registration_options()
    r = device.request(
        "POST",
        "/fingerprint/register",
        json={"challenge": options["challenge"], "credential": credential},
        auth=True,
        headers={"Accept-Language": "pl"},
    )
    assert r.status_code in (400, 422) and r.json()["code"] == "invalid_input"
    assert "cause" not in r.json()["message"] and "Credential" not in r.json()["message"]
    assert not FingerprintCredential.objects.exists()
    assert device.me()["device_id"] == device.device_id


def test_r_m4_registration_needs_a_session(device):
    ready_device(device)
    device.logout()
    r = device.request("POST", "/fingerprint/options")
    assert r.json()["code"] == "not_authenticated"


def test_r_m4_assertion_without_uv_flag_is_refused_and_counted(device):
    member = ready_device(device)
    authenticator = enable_fingerprint(device)
    with pytest.raises(ApiError) as e:
        fingerprint_login(device, authenticator, user_verified=False)
    assert (e.value.code, e.value.body["attempts_left"]) == ("fingerprint_failed", 2)
    assert MobileChannel.objects.get(member=member).failed_auth_attempts == 1


def test_r_m4_replayed_sign_count_is_refused_and_counted(device):
    ready_device(device)
    authenticator = enable_fingerprint(device)
    fingerprint_login(device, authenticator)
    with pytest.raises(ApiError) as e:
        fingerprint_login(device, authenticator, sign_count=1)  # a cloned authenticator
    assert e.value.code == "fingerprint_failed"


def test_r_m4_wrong_origin_is_refused(device):
    ready_device(device)
    authenticator = enable_fingerprint(device)
    authenticator.origin = "https://evil.example"
    with pytest.raises(ApiError) as e:
        fingerprint_login(device, authenticator)
    assert e.value.code == "fingerprint_failed"


def test_r_m5_three_failed_fingerprints_block_then_pin_refused(device):
    member = ready_device(device)
    authenticator = enable_fingerprint(device)
    with pytest.raises(ApiError):
        fingerprint_login(device, authenticator, user_verified=False)
    assert device.report_failed_fingerprint()["attempts_left"] == 1
    with pytest.raises(ApiError) as e:
        fingerprint_login(device, authenticator, user_verified=False)
    assert e.value.code == "channel_blocked"
    assert MobileChannel.objects.get(member=member).state == MobileChannel.State.BLOCKED
    with pytest.raises(ApiError) as e:
        device.login_pin(PIN)
    assert e.value.code == "channel_blocked"


def test_r_m4_fingerprint_login_needs_the_device_key(device):
    ready_device(device)
    authenticator = enable_fingerprint(device)
    options = device.fingerprint_login_options()
    body = {
        "device_id": device.device_id,
        "challenge": options["challenge"],
        "credential": authenticator.get(options),
        "signature": "AAAA",
    }
    r = device.request("POST", "/login/fingerprint", body)
    assert r.json()["code"] == "signature_invalid"


@pytest.mark.parametrize(
    "malformed",
    [
        {},
        {"id": "x", "rawId": "x", "type": "public-key"},
        {
            "id": "x",
            "rawId": "x",
            "type": "public-key",
            "response": {"clientDataJSON": "!!", "authenticatorData": "!!", "signature": "!!"},
        },
        {
            "id": "x",
            "rawId": "x",
            "type": "public-key",
            "response": {
                "clientDataJSON": "bm90IGpzb24",
                "authenticatorData": "AAAA",
                "signature": "AA",
            },
        },
    ],
)
def test_r_m5_r_x6_an_assertion_that_cannot_be_read_is_refused_and_not_counted(device, malformed):
    """Signed with the device key but unreadable: a malformed request, like a malformed PIN
    proof, not a finger the sensor refused (it would block the app at the third)."""
    member = ready_device(device)
    authenticator = enable_fingerprint(device)
    device.logout()
    for _ in range(3):
        options = device.fingerprint_login_options()
        with pytest.raises(ApiError) as refused:
            device.login_fingerprint(options["challenge"], malformed)
        assert refused.value.code == "invalid_input", refused.value.body
    assert MobileChannel.objects.get(member=member).failed_auth_attempts == 0
    assert fingerprint_login(device, authenticator)["token"]


def test_r_m4_fingerprint_options_without_registration(device):
    ready_device(device)
    with pytest.raises(ApiError) as e:
        device.fingerprint_login_options()
    assert e.value.code == "fingerprint_not_registered"


def test_r_m4_a_challenge_issued_to_one_device_is_refused_to_another(device):
    """Mutation audit of 7 December: nothing showed that a WebAuthn challenge is bound to the
    device it was issued to. Device B, with its own credential and signature, presents the
    challenge device A asked for: refused, and nothing counted on B's channel."""
    from skarbiec.client import DeviceClient

    ready_device(device)
    enable_fingerprint(device)
    other = DeviceClient.in_process(language="en")
    try:
        member_b = ready_device(other)
        authenticator_b = enable_fingerprint(other)
        options_a = device.fingerprint_login_options()
        options_b = other.fingerprint_login_options()
        assertion = authenticator_b.get({**options_b, "challenge": options_a["challenge"]})
        with pytest.raises(ApiError) as e:
            other.login_fingerprint(options_a["challenge"], assertion)
        assert e.value.code == "challenge_invalid"
    finally:
        other.close()
    assert MobileChannel.objects.get(member=member_b).failed_auth_attempts == 0


def test_r_m4_a_fingerprint_is_enrolled_only_right_after_the_pin(device):
    """A phone left logged in: whoever holds it has a session but not the PIN. A finger it
    enrolled would log in without the PIN from then on, so enrolling needs a session the PIN
    opened in the last two minutes; after that the app asks for the PIN again."""
    ready_device(device)
    clock.advance(ENROLMENT_AFTER_PIN_SECONDS + 1)
    device.me()  # still active: the session is open, only not fresh from the PIN
    for step in (
        device.fingerprint_registration_options,
        lambda: device.register_fingerprint("x" * 43, {}),
    ):
        with pytest.raises(ApiError) as e:
            step()
        assert (e.value.status, e.value.code) == (403, "pin_confirmation_needed")
    device.logout()
    device.login_pin(PIN)
    enable_fingerprint(device)  # right after the PIN: enrolled
    assert FingerprintCredential.objects.count() == 1


def test_r_m4_a_session_a_fingerprint_opened_enrols_no_other_finger(device):
    ready_device(device)
    authenticator = enable_fingerprint(device)
    device.logout()
    fingerprint_login(device, authenticator)
    with pytest.raises(ApiError) as e:
        device.fingerprint_registration_options()
    assert e.value.code == "pin_confirmation_needed"
    assert FingerprintCredential.objects.count() == 1


def _padded(value: str) -> str:
    return value + "=" * (-len(value) % 4 or 4)


def test_r_m5_r_x8_client_data_nested_thousands_deep_is_invalid_input_not_a_500(device):
    """Only the device id is needed to send it (the assertion is read before the device's
    signature is checked): JSON nested 5,000 deep ended in a RecursionError, a 500."""
    import base64

    member = ready_device(device)
    enable_fingerprint(device)
    device.logout()
    deep = base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).rstrip(b"=").decode()
    options = device.fingerprint_login_options()
    response = {"clientDataJSON": deep, "authenticatorData": "AAAA", "signature": "AAAA"}
    with pytest.raises(ApiError) as refused:
        device.login_fingerprint(
            options["challenge"],
            {"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": response},
        )
    assert (refused.value.status, refused.value.code) == (400, "invalid_input")
    assert MobileChannel.objects.get(member=member).failed_auth_attempts == 0


def test_r_m5_r_x6_an_assertion_without_its_signature_is_invalid_input_not_a_failure(device):
    member = ready_device(device)
    authenticator = enable_fingerprint(device)
    device.logout()
    for _ in range(3):
        options = device.fingerprint_login_options()
        assertion = authenticator.get(options)
        assertion["response"]["signature"] = ""
        with pytest.raises(ApiError) as refused:
            device.login_fingerprint(options["challenge"], assertion)
        assert refused.value.code == "invalid_input"
    assert MobileChannel.objects.get(member=member).failed_auth_attempts == 0


def test_r_m4_an_assertion_with_padded_ids_logs_in(device):
    """Padding is no part of WebAuthn's base64url, but a client library may add it: the
    member's own fingerprint was counted as a failure, and three blocked the app."""
    member = ready_device(device)
    authenticator = enable_fingerprint(device)
    device.logout()
    options = device.fingerprint_login_options()
    assertion = authenticator.get(options)
    assertion["id"], assertion["rawId"] = _padded(assertion["id"]), _padded(assertion["rawId"])
    assert device.login_fingerprint(options["challenge"], assertion)["token"]
    assert MobileChannel.objects.get(member=member).failed_auth_attempts == 0


def test_r_m4_an_assertion_overtaken_by_a_later_count_is_refused(device, monkeypatch):
    """Two assertions compared at once, each against the counter as it was: both were
    accepted and the counter could go back (35 stored, then 30). The acceptance now moves
    the counter only from the value its comparison read; the other is refused, not counted."""
    from skarbiec.core.attempts import FingerprintGuess

    member = ready_device(device)
    authenticator = enable_fingerprint(device)
    device.logout()
    options = device.fingerprint_login_options()
    slower = authenticator.get(options, sign_count=30)
    real = FingerprintGuess._matches
    overtaken: list[bool] = []

    def another_login_meanwhile(self, row):  # noqa: ANN001, ANN202
        matched = real(self, row)
        if not overtaken:
            overtaken.append(True)
            other = device.fingerprint_login_options()
            device.login_fingerprint(other["challenge"], authenticator.get(other, sign_count=35))
        return matched

    monkeypatch.setattr(FingerprintGuess, "_matches", another_login_meanwhile)
    with pytest.raises(ApiError) as refused:
        device.login_fingerprint(options["challenge"], slower)
    assert refused.value.code == "fingerprint_failed"
    assert FingerprintCredential.objects.get().sign_count == 35
    assert MobileChannel.objects.get(member=member).failed_auth_attempts == 0


def test_r_m4_r_x6_a_failed_fingerprint_from_a_device_without_one_counts_nothing(device):
    """The app reports a finger the phone refused; a device with no fingerprint registered has
    none to refuse (the login's options say so): a faulty app must not block the member."""
    member = ready_device(device)
    with pytest.raises(ApiError) as refused:
        device.report_failed_fingerprint()
    assert (refused.value.status, refused.value.code) == (409, "fingerprint_not_registered")
    assert MobileChannel.objects.get(member=member).failed_auth_attempts == 0
