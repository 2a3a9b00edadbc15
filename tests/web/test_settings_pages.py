"""Settings pages of the internet service over HTTP: Access channels (R-W4, R-M7), Activate mobile
app (R-W5), Devices and Security events (R-W6), with bad input (R-P1, R-P2, R-O3, R-O4)."""

import pytest
from django.test import Client
from tests.api.steps import (
    PIN,
    activate_device,
    device_beside_web_client,
    member_with_channel,
    ready_device,
)
from tests.factories import make_member
from tests.web.login_steps import english_client, last_sms_code, log_in, wrong_code

from skarbiec.channels.models import MobileChannel, MobileDevice, WebChannel
from skarbiec.client import ApiError, DeviceClient
from skarbiec.core import clock
from skarbiec.members.models import Member

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Telefon#2024"


@pytest.fixture
def member(client: Client) -> Member:
    member = make_member(first_name="Anna", last_name="Nowak")
    log_in(client, member)
    return member


@pytest.fixture
def device(settings):
    settings.PUBLIC_URL = "https://localhost:8443"
    client = device_beside_web_client(language="en")
    yield client
    client.close()


def _state(member: Member) -> str:
    return MobileChannel.objects.get(member=member).state


def _define_password(client: Client, url: str, password: str = NEW_PASSWORD):
    return client.post(url, {"new_password": password, "repeated": password})


def test_r_w4_access_channels_shows_both_channels_and_activate(client: Client, member: Member):
    response = client.get("/settings/", follow=True)
    assert response.redirect_chain[-1][0] == "/settings/channels/"
    page = response.content.decode()
    assert "Access channels" in page
    assert "Internet service" in page and "Mobile app" in page
    assert 'href="/settings/channels/mobile/activate/"' in page
    assert "not active" in page
    # Nothing to deactivate while the channel is off.
    assert 'href="/settings/channels/mobile/deactivate/"' not in page


def test_r_w4_activate_mobile_channel_with_password_and_sms_code(client: Client, member: Member):
    """R-W4: Activate = a new mobile-app password confirmed with an SMS code; DISABLED → PENDING."""
    response = client.get("/settings/channels/mobile/activate/")
    assert response.status_code == 200
    assert "New mobile-app password" in response.content.decode()

    response = _define_password(client, "/settings/channels/mobile/activate/")
    assert response.status_code == 302
    assert response["Location"] == "/settings/channels/mobile/activate/code/"
    assert _state(member) == "disabled"  # nothing changes before the code

    response = client.post(
        "/settings/channels/mobile/activate/code/", {"code": last_sms_code(member)}
    )
    assert response.status_code == 302
    assert response["Location"] == "/settings/channels/"
    assert _state(member) == "pending"
    page = client.get("/settings/channels/").content.decode()
    assert "activate it with your Login and this password" in page
    assert "waiting for activation in the app" in page
    assert 'href="/settings/channels/mobile/deactivate/"' in page


def test_r_p2_mobile_password_problems_listed_at_once(client: Client, member: Member):
    """R-P1, R-P2: diacritics, space and length are all named in one answer; nothing is stored."""
    response = _define_password(client, "/settings/channels/mobile/activate/", "zażółć gę")
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="password-problems"' in page
    assert page.count("<li>", page.index('id="password-problems"')) >= 2
    assert "Polish" in page or "ą" in page
    channel = MobileChannel.objects.get(member=member)
    assert channel.pending_password_hash == "" and channel.state == "disabled"


def test_r_p2_passwords_that_differ_refused(client: Client, member: Member):
    response = client.post(
        "/settings/channels/mobile/activate/",
        {"new_password": NEW_PASSWORD, "repeated": NEW_PASSWORD + "x"},
    )
    assert response.status_code == 400
    assert "The two passwords are different." in response.content.decode()


def test_r_w4_empty_form_is_a_400_not_a_500(client: Client, member: Member):
    response = client.post("/settings/channels/mobile/activate/", {})
    assert response.status_code == 400
    response = client.post("/settings/channels/mobile/activate/code/", {"code": "123456"})
    assert response.status_code == 302  # no pending password: back to step 1
    assert response["Location"] == "/settings/channels/mobile/activate/"


def test_r_o3_wrong_then_expired_code(client: Client, member: Member):
    _define_password(client, "/settings/channels/mobile/activate/")
    code = last_sms_code(member)
    response = client.post("/settings/channels/mobile/activate/code/", {"code": wrong_code(code)})
    assert response.status_code == 400
    page = response.content.decode()
    assert "The SMS code is incorrect." in page and "2 attempts left." in page
    assert _state(member) == "disabled"

    # Past the code's 5 minutes, with the web session kept alive in between.
    clock.advance(200)
    assert client.get("/settings/channels/").status_code == 200
    clock.advance(101)
    response = client.post("/settings/channels/mobile/activate/code/", {"code": code})
    assert response.status_code == 400
    page = response.content.decode()
    assert "has expired" in page and "Start again" in page
    assert _state(member) == "disabled"


def test_r_o4_three_wrong_codes_cancel_and_count_toward_web_lockout(client: Client, member: Member):
    """R-O4 (web): three wrong codes cancel the new password and count one web failure."""
    _define_password(client, "/settings/channels/mobile/activate/")
    code = last_sms_code(member)
    for _ in range(2):
        client.post("/settings/channels/mobile/activate/code/", {"code": wrong_code(code)})
    response = client.post("/settings/channels/mobile/activate/code/", {"code": wrong_code(code)})
    assert response.status_code == 400
    assert "Three wrong SMS codes" in response.content.decode()
    channel = MobileChannel.objects.get(member=member)
    assert channel.state == "disabled" and channel.pending_password_hash == ""
    assert WebChannel.objects.get(member=member).failed_attempts == 1
    # The right code no longer helps.
    response = client.post("/settings/channels/mobile/activate/code/", {"code": code})
    assert response["Location"] == "/settings/channels/mobile/activate/"
    assert _state(member) == "disabled"


def test_r_w4_r_m7_deactivate_with_confirmation(client: Client, device: DeviceClient):
    """R-W4, R-M7: Deactivate asks first, then unbinds the device and voids the password."""
    member = ready_device(device)
    log_in(client, member)
    response = client.get("/settings/channels/mobile/deactivate/")
    assert response.status_code == 200
    assert "Yes, deactivate" in response.content.decode()
    assert _state(member) == "active"

    response = client.post("/settings/channels/mobile/deactivate/")
    assert response["Location"] == "/settings/channels/"
    assert _state(member) == "disabled"
    assert not MobileDevice.objects.filter(member=member, state="active").exists()
    assert "mobile app channel is deactivated" in client.get("/settings/channels/").content.decode()
    with pytest.raises(ApiError) as refused:
        device.login_pin(PIN)
    assert refused.value.code == "unknown_device"

    # R-M7: a new password through Activate, and the app activates with it.
    _define_password(client, "/settings/channels/mobile/activate/", "Nowe#Haslo77")
    client.post("/settings/channels/mobile/activate/code/", {"code": last_sms_code(member)})
    assert _state(member) == "pending"
    device.reset()
    with pytest.raises(ApiError) as old:
        device.activate(member.login, "Mobi!e2024xy")
    assert old.value.code == "wrong_credentials"
    device.reset()
    activate_device(device, member, "Nowe#Haslo77")
    assert _state(member) == "active"


def test_r_w5_activate_mobile_app_is_the_unblock_path(client: Client, device: DeviceClient):
    """R-W5, R-M5: three wrong PINs block; Settings → Activate mobile app unblocks (→ PENDING)."""
    member = ready_device(device)
    log_in(client, member)
    page = client.get("/settings/mobile-app/").content.decode()
    assert 'id="not-available"' in page  # the app works: nothing to unblock
    response = _define_password(client, "/settings/mobile-app/")
    assert response.status_code == 409

    device.logout()
    for _ in range(3):
        with pytest.raises(ApiError):
            device.login_pin("13572")
    assert _state(member) == "blocked"
    page = client.get("/settings/channels/").content.decode()
    assert "blocked" in page and 'href="/settings/mobile-app/"' in page
    assert 'id="not-available"' not in client.get("/settings/mobile-app/").content.decode()

    response = _define_password(client, "/settings/mobile-app/")
    assert response["Location"] == "/settings/mobile-app/code/"
    code = last_sms_code(member)
    response = client.post("/settings/mobile-app/code/", {"code": wrong_code(code)})
    assert response.status_code == 400 and "2 attempts left." in response.content.decode()
    response = client.post("/settings/mobile-app/code/", {"code": code})
    assert response["Location"] == "/settings/channels/"
    assert _state(member) == "pending"
    assert "the mobile app is unblocked" in client.get("/settings/channels/").content.decode()
    # The blocked device was unbound: the app activates again with the new password.
    device.reset()
    activate_device(device, member, NEW_PASSWORD)
    device.set_pin(PIN)
    assert _state(member) == "active"


def test_r_w6_devices_shows_the_bound_device_and_removes_it(client: Client, device: DeviceClient):
    member = ready_device(device)
    log_in(client, member)
    page = client.get("/settings/devices/").content.decode()
    assert 'id="bound-device"' in page
    for label in ("Name", "System", "Activated", "Last used"):
        assert f"<dt>{label}</dt>" in page
    bound = MobileDevice.objects.get(member=member, state="active")

    response = client.post(f"/settings/devices/{bound.device_id}/remove/")
    assert response["Location"] == "/settings/devices/"
    bound.refresh_from_db()
    assert bound.state == "removed"
    assert _state(member) == "pending"
    page = client.get("/settings/devices/").content.decode()
    assert "The device was removed" in page and 'id="no-device"' in page
    with pytest.raises(ApiError) as refused:
        device.me()
    assert refused.value.status == 401

    # Removing it again (or a device of someone else) is refused, not a 500.
    response = client.post(f"/settings/devices/{bound.device_id}/remove/")
    assert response.status_code == 404
    assert "not bound to your account" in response.content.decode()
    assert client.get("/settings/devices/").status_code == 200  # still logged in
    assert client.get(f"/settings/devices/{bound.device_id}/remove/").status_code == 405


def test_r_w6_security_events_lists_logins_failures_and_blocks_of_this_member_only(
    client: Client, device: DeviceClient
):
    member = ready_device(device)
    other = member_with_channel()
    english_client().post("/login/", {"login": other.login, "password": "Wrong#pass1"})
    english_client().post("/login/", {"login": member.login, "password": "Wrong#pass1"})
    device.logout()
    for _ in range(3):
        with pytest.raises(ApiError):
            device.login_pin("13572")
    log_in(client, member)

    response = client.get("/settings/security-events/")
    assert response.status_code == 200
    page = response.content.decode()
    for label in (
        "Failed login to the internet service",
        "Login to the internet service",
        "Failed login to the mobile app (PIN)",
        "Mobile app blocked",
        "Mobile app activated on a device",
        "Mobile app channel activated",
    ):
        assert label in page, label
    assert page.count('data-event="web_login_failed"') == 1  # not the other member's
    # Newest first: the block comes before the activation.
    assert page.index('data-event="mobile_channel_blocked"') < page.index(
        'data-event="mobile_device_activated"'
    )


def test_r_w7_settings_need_a_logged_in_member_and_csrf(client: Client, device: DeviceClient):
    member = ready_device(device)
    anonymous = english_client()
    for url in ("/settings/channels/", "/settings/devices/", "/settings/security-events/"):
        response = anonymous.get(url)
        assert response.status_code == 302 and response["Location"] == "/"
    log_in(client, member)
    # The member's session without the CSRF token: refused, nothing changed.
    strict = english_client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    response = strict.post("/settings/channels/mobile/deactivate/")
    assert response.status_code == 403
    assert _state(member) == "active"


def test_r_x5_settings_in_polish_by_default(member: Member):
    polish = Client()
    log_in(polish, member)
    page = polish.get("/settings/channels/").content.decode()
    assert '<html lang="pl">' in page
