"""R-W2, R-M5, R-B4: an administrator lowers a failure limit below what a member has counted.

The failures were counted under the old limit; under the new one the channel must neither stay
open while refusing every attempt as "blocked" (which no staff action ends: the web unblock and
the app's activation want a blocked channel) nor give more attempts than the old limit did.
They count as one fewer than the new limit: a right secret succeeds, a wrong one blocks.
"""

import pytest

from skarbiec.backoffice.credit_unions import configure_credit_union
from skarbiec.channels.errors import WebChannelBlocked, WrongCredentials
from skarbiec.channels.lifecycle import unblock_web_channel
from skarbiec.channels.models import MobileChannel, WebChannel
from skarbiec.channels.web.login import begin_web_login, complete_web_login
from skarbiec.client import ApiError, DeviceClient
from skarbiec.core.context import RequestContext
from tests.api.steps import PIN, last_code, ready_device
from tests.factories import CLI, make_member

CTX = RequestContext(ip_address="10.9.9.8", channel="web")
PASSWORD = "Start#2024pl"


def _lower(credit_union, field: str) -> None:
    configure_credit_union(None, credit_union, {field: 3}, CLI)


@pytest.mark.django_db
@pytest.mark.parametrize("then", ["right", "wrong"])
def test_r_w2_r_b4_a_lowered_password_limit_leaves_one_attempt(_api, then):
    member = make_member()
    configure_credit_union(None, member.credit_union, {"max_web_password_failures": 5}, CLI)
    for left in (4, 3, 2, 1):
        with pytest.raises(WrongCredentials) as wrong:
            begin_web_login(member.login, "Wrong#pass1", CTX)
        assert wrong.value.details["attempts_left"] == left
    _lower(member.credit_union, "max_web_password_failures")

    if then == "right":
        pending = begin_web_login(member.login, PASSWORD, CTX)
        complete_web_login(pending, last_code(member), CTX)
        channel = WebChannel.objects.get(member=member)
        assert (channel.state, channel.failed_attempts) == (WebChannel.State.ACTIVE, 0)
        return
    with pytest.raises(WebChannelBlocked):
        begin_web_login(member.login, "Wrong#pass1", CTX)
    channel = WebChannel.objects.get(member=member)
    assert (channel.state, channel.block_reason) == (WebChannel.State.BLOCKED, "wrong_passwords")
    unblock_web_channel(member, CTX)  # the helpline can end it


@pytest.mark.django_db
@pytest.mark.parametrize("then", ["right", "wrong"])
def test_r_m5_r_b4_a_lowered_pin_limit_leaves_one_attempt(_api, then):
    device = DeviceClient.in_process(language="en")
    member = ready_device(device)
    configure_credit_union(None, member.credit_union, {"max_auth_failures": 5}, CLI)
    for _ in range(4):
        with pytest.raises(ApiError) as wrong:
            device.login_pin("86420")
        assert wrong.value.code == "wrong_pin"
    _lower(member.credit_union, "max_auth_failures")

    if then == "right":
        device.login_pin(PIN)
        assert MobileChannel.objects.get(member=member).failed_auth_attempts == 0
        return
    with pytest.raises(ApiError) as blocked:
        device.login_pin("86420")
    assert blocked.value.code == "channel_blocked"
    # Blocked for real, so the member can unblock it in the internet service (R-W5).
    assert MobileChannel.objects.get(member=member).state == MobileChannel.State.BLOCKED
