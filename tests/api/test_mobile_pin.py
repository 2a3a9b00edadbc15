"""PIN setting and PIN login, the shared failure counter, the device protocol's refusals
(R-M2, R-M3, R-M5, R-X4)."""

import threading

import pytest
from django.db import connection

from skarbiec.audit.models import AuditEvent
from skarbiec.channels import protocol
from skarbiec.channels.models import DeviceChallenge, MobileChannel
from skarbiec.client import ApiError, DeviceClient
from tests.api import test_mobile_fingerprint as fingerprints
from tests.api.steps import PIN, activate_device, member_with_channel, ready_device


def channel_of(member) -> MobileChannel:
    return MobileChannel.objects.get(member=member)


@pytest.mark.django_db
@pytest.mark.parametrize("pin", ["11111", "12345", "54321", "00000", "34567", "98765", "12121"])
def test_r_m2_trivial_pin_is_refused(device, pin):
    member = member_with_channel()
    activate_device(device, member)
    with pytest.raises(ApiError) as e:
        device.set_pin(pin)
    assert (e.value.status, e.value.code) == (400, "pin_rejected")
    assert e.value.body["problems"]


@pytest.mark.django_db
@pytest.mark.parametrize("pin", ["4815", "481592", "48a59", "４８１５９"])
def test_r_m2_pin_must_be_digits_of_the_policy_length(device, pin):
    member = member_with_channel()
    activate_device(device, member)
    with pytest.raises(ApiError) as e:
        device.set_pin(pin)
    assert e.value.code == "pin_rejected"


@pytest.mark.django_db
def test_r_m2_pin_length_follows_the_policy(device):
    from tests.factories import make_credit_union

    member = member_with_channel(credit_union=make_credit_union(pin_length=6))
    assert activate_device(device, member)["pin_length"] == 6
    assert device.set_pin("481592")["token"]


@pytest.mark.django_db
def test_r_m2_pin_cannot_be_set_twice(device):
    ready_device(device)
    with pytest.raises(ApiError) as e:
        device.set_pin("73914")
    assert (e.value.status, e.value.code) == (409, "pin_already_set")


@pytest.mark.django_db
def test_r_m3_pin_login_and_wrong_pin_attempts_left(device):
    member = ready_device(device)
    device.logout()
    with pytest.raises(ApiError) as e:
        device.login_pin("73914")
    assert (e.value.status, e.value.code, e.value.body["attempts_left"]) == (401, "wrong_pin", 2)
    assert device.login_pin(PIN)["token"]
    assert channel_of(member).failed_auth_attempts == 0  # success resets (R-M5)
    assert AuditEvent.objects.filter(member_id=member.pk, event="mobile_login").exists()


@pytest.mark.django_db
def test_r_m5_three_wrong_pins_block_and_the_right_pin_is_refused_after(device):
    member = ready_device(device)
    for left in (2, 1):
        with pytest.raises(ApiError) as e:
            device.login_pin("73914")
        assert e.value.body["attempts_left"] == left
    with pytest.raises(ApiError) as e:
        device.login_pin("73914")
    assert (e.value.status, e.value.code) == (403, "channel_blocked")
    assert "internet service" in e.value.body["message"]
    assert e.value.body["helpline"] == ["801 803 800", "58 782 59 00"]
    assert channel_of(member).state == MobileChannel.State.BLOCKED
    with pytest.raises(ApiError) as e:
        device.login_pin(PIN)
    assert e.value.code == "channel_blocked"
    # The session opened at PIN setting is revoked by the block.
    with pytest.raises(ApiError) as e:
        device.me()
    assert e.value.code == "channel_blocked"


@pytest.mark.django_db
def test_r_m5_pin_and_fingerprint_failures_share_one_counter(device):
    member = ready_device(device)
    fingerprints.enable_fingerprint(device)
    with pytest.raises(ApiError):
        device.login_pin("73914")
    assert device.report_failed_fingerprint() == {"attempts_left": 1}
    with pytest.raises(ApiError) as e:
        device.report_failed_fingerprint()
    assert e.value.code == "channel_blocked"
    assert channel_of(member).state == MobileChannel.State.BLOCKED


@pytest.mark.django_db
def test_r_m3_replayed_challenge_is_refused(device):
    ready_device(device)
    body = device.login_pin_body(PIN)
    assert device.request("POST", "/login/pin", body).status_code == 200
    replay = device.request("POST", "/login/pin", body)
    assert (replay.status_code, replay.json()["code"]) == (401, "challenge_invalid")


@pytest.mark.django_db
def test_r_m3_expired_challenge_is_refused(device):
    from skarbiec.core import clock

    member = ready_device(device)
    body = device.login_pin_body(PIN)
    clock.advance(61)
    r = device.request("POST", "/login/pin", body)
    assert (r.status_code, r.json()["code"]) == (401, "challenge_invalid")
    assert channel_of(member).failed_auth_attempts == 0  # not a PIN attempt


@pytest.mark.django_db
def test_r_m3_unknown_challenge_is_refused(device):
    ready_device(device)
    body = device.login_pin_body(PIN, challenge=protocol.b64url_encode(b"x" * 32))
    r = device.request("POST", "/login/pin", body)
    assert r.json()["code"] == "challenge_invalid"


@pytest.mark.django_db
def test_r_m3_wrong_signature_is_refused_and_burns_the_challenge(device):
    member = ready_device(device)
    body = device.login_pin_body(PIN)
    body["signature"] = protocol.sign(DeviceClient.in_process().private_key, b"something else")
    r = device.request("POST", "/login/pin", body)
    assert (r.status_code, r.json()["code"]) == (401, "signature_invalid")
    assert DeviceChallenge.objects.filter(used_at__isnull=True).count() == 0
    assert channel_of(member).failed_auth_attempts == 0


@pytest.mark.django_db
def test_r_m3_proof_signed_by_another_device_is_refused(device):
    ready_device(device)
    thief = DeviceClient.in_process()
    other = ready_device(thief)  # another member's phone
    assert other
    # The thief's phone signs a login for the victim's device id with its own key.
    thief.device_id = device.device_id
    r = thief.request("POST", "/login/pin", thief.login_pin_body(PIN))
    assert r.json()["code"] == "signature_invalid"
    # And the victim's proof replayed with a fresh challenge but the wrong key: same answer.
    body = device.login_pin_body(PIN)
    body["signature"] = thief.sign(
        protocol.LOGIN_PIN, body["challenge"], {"pin_proof": body["pin_proof"]}
    )
    r = device.request("POST", "/login/pin", body)
    assert r.json()["code"] == "signature_invalid"


@pytest.mark.django_db
def test_r_m3_proof_from_another_device_secret_is_a_wrong_pin(device):
    """A stolen database or another phone cannot reproduce the proof without this device's
    secret: the right PIN with another secret is simply wrong."""
    ready_device(device)
    device.device_secret = b"\x01" * 32
    with pytest.raises(ApiError) as e:
        device.login_pin(PIN)
    assert e.value.code == "wrong_pin"


@pytest.mark.django_db
def test_unknown_device_is_refused(device):
    device.device_id = "no-such-device-0000000000000000"
    r = device.request("POST", "/login/pin", device.login_pin_body(PIN))
    assert (r.status_code, r.json()["code"]) == (401, "unknown_device")


@pytest.mark.django_db
def test_r_m8_device_policy_is_checked_at_login_too(device):
    ready_device(device)
    device.device_info = {**device.device_info, "rooted": True}
    with pytest.raises(ApiError) as e:
        device.login_pin(PIN)
    assert e.value.code == "device_rooted"


@pytest.mark.django_db(transaction=True)
def test_r_x4_twenty_parallel_wrong_pins_count_to_exactly_three(settings):
    """R-X4, R-M5: the counter is taken before the proof is checked, under a row lock."""
    settings.RATE_LIMIT_PER_ADDRESS = (1000, 60)
    settings.RATE_LIMIT_PER_LOGIN = (1000, 60)
    device = DeviceClient.in_process(language="en")
    member = ready_device(device)
    bodies = [device.login_pin_body("73914") for _ in range(20)]
    outcomes: list[tuple[int, str]] = []
    lock = threading.Lock()

    def attempt(body: dict) -> None:
        client = DeviceClient.in_process(language="en")
        try:
            r = client.request("POST", "/login/pin", body)
            with lock:
                outcomes.append((r.status_code, r.json().get("code", "ok")))
        finally:
            client.close()
            connection.close()

    threads = [threading.Thread(target=attempt, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    channel = channel_of(member)
    assert channel.failed_auth_attempts == 3
    assert channel.state == MobileChannel.State.BLOCKED
    codes = [code for _status, code in outcomes]
    assert len(codes) == 20 and "ok" not in codes
    # A wrong PIN that settles after the third one blocked the channel answers "blocked".
    assert codes.count("wrong_pin") <= 2
    assert set(codes) <= {"wrong_pin", "channel_blocked"}
    with pytest.raises(ApiError) as e:
        device.login_pin(PIN)
    assert e.value.code == "channel_blocked"


@pytest.mark.django_db
def test_stale_challenges_are_purged(device):
    from skarbiec.channels.mobile.challenges import purge_stale_device_data
    from skarbiec.core import clock

    device.challenge()
    assert purge_stale_device_data() == 0
    clock.advance(3700)
    assert purge_stale_device_data() == 1
    assert not DeviceChallenge.objects.exists()


@pytest.mark.django_db
def test_r_x6_after_the_secret_key_changed_the_right_pin_is_not_counted_as_wrong(device, settings):
    """The PIN proof's hash is keyed: under a new secret key the member's right PIN would not
    match. It is told apart from a wrong PIN (nothing counted, never blocked) and the app is
    told to activate again."""
    from skarbiec.core import keys

    member = ready_device(device)
    device.logout()
    settings.SECRET_KEY = "a-new-secret-key-after-a-compromise-" + "k" * 20
    keys.derive_key.cache_clear()
    try:
        for _ in range(4):
            with pytest.raises(ApiError) as e:
                device.login_pin(PIN)
            assert e.value.code == "unknown_device"
            assert "renewed its security keys" in e.value.body["message"]
        channel = MobileChannel.objects.get(member=member)
        assert channel.failed_auth_attempts == 0 and channel.state == MobileChannel.State.ACTIVE
    finally:
        keys.derive_key.cache_clear()


@pytest.mark.django_db
def test_r_x6_a_pin_bound_before_the_key_id_was_stored_is_noted_at_its_next_login(device, settings):
    """Devices from before the upgrade have no key id: the next right PIN notes it, so a later
    change of the secret key is told apart from a wrong PIN for them too."""
    from skarbiec.channels.models import MobileDevice
    from skarbiec.core import keys

    member = ready_device(device)
    MobileDevice.objects.filter(member=member).update(pin_key_id="")
    device.logout()
    device.login_pin(PIN)
    assert MobileDevice.objects.get(member=member, state="active").pin_key_id == (
        keys.secret_key_id()
    )
    device.logout()
    settings.SECRET_KEY = "a-new-secret-key-after-a-compromise-" + "k" * 20
    keys.derive_key.cache_clear()
    try:
        for _ in range(3):
            with pytest.raises(ApiError) as e:
                device.login_pin(PIN)
            assert e.value.code == "unknown_device"
        assert MobileChannel.objects.get(member=member).state == MobileChannel.State.ACTIVE
    finally:
        keys.derive_key.cache_clear()


@pytest.mark.django_db
def test_r_m3_a_proof_in_upper_case_is_checked_as_signed(device):
    """The proof's hexadecimal digits may come in either case: the signature covers the proof
    as sent, the comparison ignores the case. A client's formatting must not read as a
    foreign key (whose answer tells the member to activate again)."""
    member = ready_device(device)
    body = device.login_pin_body(PIN)
    proof = body["pin_proof"].upper()
    body["pin_proof"] = proof
    body["signature"] = device.sign(protocol.LOGIN_PIN, body["challenge"], {"pin_proof": proof})
    answer = device.request("POST", "/login/pin", body)
    assert answer.status_code == 200, answer.text
    assert channel_of(member).failed_auth_attempts == 0
