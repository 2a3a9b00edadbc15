"""R-B3 from the command line: staff block the web or mobile channel at the member's request,
unblock the web channel, and can not unblock the mobile app (the seed's rule)."""

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import translation

from skarbiec.channels.models import MobileChannel, WebChannel
from skarbiec.client import ApiError
from tests.api.steps import PIN, ready_device
from tests.factories import make_member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def test_r_b3_web_block_on_request_then_login_refused_with_helpline():
    member = make_member()
    call_command("web", "block", member.login)
    assert WebChannel.objects.get(member=member).state == WebChannel.State.BLOCKED
    response = Client().post("/login/", {"login": member.login, "password": "Start#2024pl"})
    assert response.status_code == 403
    assert "801 803 800" in response.content.decode()
    call_command("web", "block", member.login)  # blocking again changes nothing
    call_command("web", "unblock", member.login)
    assert WebChannel.objects.get(member=member).state == WebChannel.State.ACTIVE


def test_r_b3_mobile_block_on_request_ends_the_session_and_staff_cannot_unblock(device):
    member = ready_device(device)
    assert device.session()  # the app is logged in
    call_command("mobile", "block", member.login)
    assert MobileChannel.objects.get(member=member).state == MobileChannel.State.BLOCKED
    with pytest.raises(ApiError) as ended:
        device.session()  # the open session is over and the app learns why
    assert (ended.value.status, ended.value.code) == (403, "channel_blocked")
    with pytest.raises(ApiError) as refused:
        device.login_pin(PIN)
    assert refused.value.body["code"] == "channel_blocked"
    with pytest.raises(CommandError, match="Staff cannot unblock the mobile app"):
        call_command("mobile", "unblock", member.login)
    assert MobileChannel.objects.get(member=member).state == MobileChannel.State.BLOCKED


def test_r_b3_unknown_login_is_a_clear_error():
    with pytest.raises(CommandError, match="No member has the Login 0000000000"):
        call_command("mobile", "block", "0000000000")
