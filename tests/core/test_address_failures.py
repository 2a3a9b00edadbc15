"""Per client address only failures count (R-X10): a refusal that guessed nothing (an expired
code, a device removed while its PIN was checked) is not one, or members behind one carrier
address would be refused for what was nobody's mistake."""

import pytest

from skarbiec.channels import lifecycle
from skarbiec.channels.web.login import begin_web_login, complete_web_login
from skarbiec.client import ApiError, DeviceClient
from skarbiec.core import clock
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError
from skarbiec.core.models import RateLimitCounter
from tests.api.steps import PIN, last_code, ready_device
from tests.core.test_attempts import PASSWORD, at_each_comparison, on_another_connection
from tests.factories import make_member

CTX = RequestContext(ip_address="10.9.9.9", channel="web")


def address_failures() -> dict[str, int]:
    return {
        row.key: row.count
        for row in RateLimitCounter.objects.all()
        if row.key.startswith(("login-addr", "mobile-addr"))
    }


@pytest.mark.django_db
def test_r_x10_an_expired_login_code_is_no_failure_of_the_address():
    member = make_member()
    pending = begin_web_login(member.login, PASSWORD, CTX)
    code = last_code(member)
    clock.advance(member.credit_union.otp_ttl_seconds + 1)
    before = address_failures()
    with pytest.raises(DomainError) as refused:
        complete_web_login(pending, code, CTX)
    assert refused.value.code == "otp_expired"
    assert address_failures() == before


@pytest.mark.django_db(transaction=True)
def test_r_x10_r_m6_a_device_removed_while_its_pin_is_checked_is_no_failure(_api):
    """The member removes the phone in the web while its right PIN is being compared: the app
    is told its device is unknown (not that the app is blocked), and the address counts no
    failure."""
    device = DeviceClient.in_process(language="en")
    member = ready_device(device)
    before = address_failures()

    def remove() -> None:
        on_another_connection(lambda: lifecycle.remove_mobile_device(member, device.device_id, CTX))

    with at_each_comparison(remove), pytest.raises(ApiError) as refused:
        device.login_pin(PIN)
    assert refused.value.code == "unknown_device"
    assert address_failures() == before


@pytest.mark.django_db
def test_r_x10_junk_from_an_address_does_not_lock_out_its_members_devices(settings):
    """Requests naming devices that do not exist fill the address's failures; members behind
    the same carrier address still log in with their bound devices (proven by the device
    key, counted per device and per member). What does not prove a bound device is refused,
    and so is an anonymous activation."""
    settings.RATE_LIMIT_PER_ADDRESS = (5, 60)
    settings.RATE_LIMIT_PER_LOGIN = (1000, 60)
    device = DeviceClient.in_process(language="en")
    member = ready_device(device)
    stranger = DeviceClient.in_process(language="en")
    stranger.device_id, stranger.private_key = "x" * 32, device.private_key
    for _ in range(5):
        with pytest.raises(ApiError) as refused:
            stranger.login_pin(PIN)
        assert refused.value.code == "unknown_device"
    counters = RateLimitCounter.objects.count()
    for n in range(3):
        stranger.device_id = f"{n}" * 32  # a new one each time, as junk would be
        with pytest.raises(ApiError) as refused:
            stranger.login_pin(PIN)
        assert refused.value.code == "rate_limited"
    assert RateLimitCounter.objects.count() == counters  # refused by one read, nothing written

    assert device.login_pin(PIN)["token"]
    with pytest.raises(ApiError) as refused:
        device.login_pin("86420")
    assert refused.value.code == "wrong_pin"  # counted on the member's own channel
    assert device.login_pin(PIN)["token"]
    forger = DeviceClient.in_process(language="en")
    forger.device_id = device.device_id  # the device id without its key
    with pytest.raises(ApiError) as refused:
        forger.login_pin(PIN)
    assert refused.value.code == "rate_limited"
    with pytest.raises(ApiError) as refused:
        DeviceClient.in_process(language="en").activate(member.login, "Mobi!e2024xy")
    assert refused.value.code == "rate_limited"
    with pytest.raises(ApiError) as refused:  # unsigned: proves nothing
        device.fingerprint_login_options()
    assert refused.value.code == "rate_limited"
