"""Mobile sessions (R-M9): sliding idle expiry, absolute limit, revocation, session check."""

from datetime import timedelta

import pytest

from skarbiec.channels.lifecycle import (
    block_mobile_channel,
    deactivate_mobile_channel,
    remove_mobile_device,
)
from skarbiec.channels.models import MobileSession
from skarbiec.client import ApiError, DeviceClient
from skarbiec.core import clock
from skarbiec.core.attempts import DigestGuess
from skarbiec.core.keys import keyed_hash
from skarbiec.members.models import CreditUnion
from tests.api.steps import PIN, WEB, activate_device, reactivate_mobile_app, ready_device

pytestmark = pytest.mark.django_db


def test_r_m9_token_is_stored_only_as_a_keyed_hash(device):
    ready_device(device)
    stored = MobileSession.objects.get()
    assert stored.token_hash == keyed_hash("mobile-session", device.token)
    assert device.token not in stored.token_hash


def test_r_m9_idle_five_minutes_expires_the_session(device):
    ready_device(device)
    clock.advance(301)
    with pytest.raises(ApiError) as e:
        device.me()
    assert (e.value.status, e.value.code) == (401, "session_expired")
    assert "5 minutes" in e.value.body["message"]
    with pytest.raises(ApiError) as e:  # stays expired
        device.me()
    assert e.value.code == "session_expired"
    assert device.login_pin(PIN)["token"]  # back to the PIN screen, and in again


def test_r_m9_activity_at_four_minutes_keeps_the_session(device):
    ready_device(device)
    clock.advance(240)
    device.me()
    clock.advance(240)  # 8 minutes after login, 4 after the last request
    assert device.me()["channel_state"] == "active"
    clock.advance(301)
    with pytest.raises(ApiError) as e:
        device.me()
    assert e.value.code == "session_expired"


def test_r_m9_session_check_does_not_extend_the_session(device):
    ready_device(device)
    clock.advance(200)
    status = device.session()
    assert status["device_id"] == device.device_id
    clock.advance(101)  # 301 s after the last request that counts as activity
    with pytest.raises(ApiError) as e:
        device.session()
    assert e.value.code == "session_expired"


def test_r_m9_absolute_limit(device):
    ready_device(device)
    for _ in range(13):  # 13 × 280 s of constant activity > 3600 s
        clock.advance(280)
        try:
            device.me()
        except ApiError as e:
            assert e.code == "session_expired"
            # The answer names the limit that ended it: not "without activity".
            assert "maximum length of 60 minutes" in e.body["message"], e.body
            break
    else:
        pytest.fail("the session outlived its absolute limit")
    with pytest.raises(ApiError) as again:  # and says so again while it stays ended
        device.me()
    assert "maximum length of 60 minutes" in again.value.body["message"]


def test_r_m9_the_idle_logout_names_the_credit_unions_limit(device):
    """A credit union that logs out after one minute says one minute, in the app's language:
    the answer was a fixed "5 minutes"."""
    member = ready_device(device)
    CreditUnion.objects.filter(pk=member.credit_union_id).update(idle_timeout_seconds=90)
    device.me()
    clock.advance(91)
    with pytest.raises(ApiError) as e:
        device.me()
    assert e.value.code == "session_expired"
    assert e.value.body["message"] == (
        "You were logged out after 1 minute without activity. Log in again to continue."
    )
    polish = DeviceClient.in_process(language="pl")
    polish.token = device.token
    with pytest.raises(ApiError) as e:
        polish.me()
    assert "po 1 minucie bez aktywności" in e.value.body["message"]


def test_r_m9_logout_revokes_the_token(device):
    ready_device(device)
    token = device.token
    device.logout()
    device.token = token
    with pytest.raises(ApiError) as e:
        device.me()
    assert e.value.code == "not_authenticated"


def test_missing_or_garbage_bearer_is_not_authenticated(device):
    r = device.request("GET", "/me")
    assert (r.status_code, r.json()["code"]) == (401, "not_authenticated")
    r = device.request("GET", "/me", headers={"Authorization": "Bearer nonsense"})
    assert (r.status_code, r.json()["code"]) == (401, "not_authenticated")


def test_r_m9_block_revokes_sessions(device):
    member = ready_device(device)
    block_mobile_channel(member, "helpline_request", WEB)
    with pytest.raises(ApiError) as e:
        device.me()
    assert e.value.code == "channel_blocked"


def test_r_m9_a_token_revoked_by_a_block_lifted_since_is_not_authenticated(device):
    """The block ended in the web and the app was activated again: the old token no longer
    says "blocked" (that would send the member to unblock what is not blocked)."""
    member = ready_device(device)
    old_token = device.token
    block_mobile_channel(member, "helpline_request", WEB)
    with pytest.raises(ApiError) as e:
        device.me()
    assert e.value.code == "channel_blocked"
    reactivate_mobile_app(member, "Nowe!Haslo2024")
    phone = DeviceClient.in_process(language="en")
    activate_device(phone, member, "Nowe!Haslo2024")
    device.token = old_token
    with pytest.raises(ApiError) as e:
        device.me()
    assert (e.value.status, e.value.code) == (401, "not_authenticated")


def test_r_m9_deactivation_revokes_sessions(device):
    member = ready_device(device)
    deactivate_mobile_channel(member, WEB)
    with pytest.raises(ApiError) as e:
        device.me()
    assert e.value.code == "not_authenticated"


def test_r_w6_device_removal_revokes_sessions(device):
    member = ready_device(device)
    remove_mobile_device(member, device.device_id, WEB)
    with pytest.raises(ApiError) as e:
        device.me()
    assert e.value.code == "not_authenticated"
    with pytest.raises(ApiError) as e:
        device.login_pin(PIN)
    assert e.value.code == "unknown_device"


def test_r_m3_r_m6_phone_replaced_while_its_pin_is_checked_opens_no_session(device, monkeypatch):
    """The old phone is looked up as bound before its PIN; another phone is activated (the
    channel stays active) while the proof is compared: the old phone's login is refused and
    no session opens for it."""
    member = ready_device(device)
    device.logout()
    compare = DigestGuess._matches
    other = DeviceClient.in_process(language="en")

    def replaced_meanwhile(guess: DigestGuess, row: object) -> bool:
        monkeypatch.setattr(DigestGuess, "_matches", compare)  # once: activation compares too
        activate_device(other, member)
        return compare(guess, row)

    monkeypatch.setattr(DigestGuess, "_matches", replaced_meanwhile)
    try:
        with pytest.raises(ApiError) as e:
            device.login_pin(PIN)
    finally:
        other.close()
    assert e.value.code == "unknown_device"
    assert (
        not MobileSession.objects.filter(device__device_id=device.device_id)
        .filter(revoked_at__isnull=True)
        .exists()
    )


def test_r_m6_new_activation_revokes_sessions(device):
    member = ready_device(device)
    old_token = device.token
    device.reset()
    activate_device(device, member)
    device.token = old_token
    with pytest.raises(ApiError) as e:
        device.me()
    assert e.value.code == "not_authenticated"


def test_r_m9_the_session_ends_at_exactly_five_idle_minutes_as_in_the_web(device, monkeypatch):
    ready_device(device)
    device.me()
    last_seen = MobileSession.objects.get().last_seen_at
    monkeypatch.setattr(clock, "now", lambda: last_seen + timedelta(seconds=300))
    with pytest.raises(ApiError) as e:
        device.me()
    assert e.value.code == "session_expired"
