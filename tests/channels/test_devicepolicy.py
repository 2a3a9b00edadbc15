"""What the PWA's browser tells about the device (R-M8): client hints and the user agent."""

import pytest

from skarbiec.channels.devicepolicy import (
    ANDROID,
    IOS,
    USER_AGENT_KEPT,
    WEB,
    check_device_policy,
    describe_device,
)
from skarbiec.channels.errors import DeviceNotSupported
from tests.factories import make_credit_union

ANDROID_14 = "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 Chrome/120 Mobile"
ANDROID_5 = "Mozilla/5.0 (Linux; Android 5.0; Nexus 5) AppleWebKit/537.36 Chrome/120 Mobile"
IPHONE_17 = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15"


def test_r_m8_platform_hint_without_version_takes_the_user_agents_version():
    """Chrome sends Sec-CH-UA-Platform by default but not its version: the UA fills it in."""
    info = describe_device({}, ANDROID_14, {"platform": '"Android"', "platform_version": ""})
    assert (info.platform, info.os_version) == (ANDROID, "14")
    info = describe_device({}, ANDROID_5, {"platform": '"Android"'})
    assert (info.platform, info.os_version) == (ANDROID, "5.0")


def test_r_m8_hint_version_and_reported_version_win_over_the_user_agent():
    hints = {"platform": '"Android"', "platform_version": '"13.0.0"'}
    assert describe_device({}, ANDROID_14, hints).os_version == "13.0.0"
    reported = {"platform": "android", "os_version": "12"}
    assert describe_device(reported, ANDROID_14, hints).os_version == "12"


def test_r_m8_user_agent_alone_and_desktop():
    info = describe_device({"platform": "web"}, IPHONE_17, {})
    assert (info.platform, info.os_version) == (IOS, "17.1")
    desktop = describe_device({}, "Mozilla/5.0 (X11; Linux x86_64)", {"platform": '"Linux"'})
    assert desktop.platform == WEB


@pytest.mark.django_db
def test_r_m8_old_android_from_hint_and_user_agent_refused():
    policy = make_credit_union()
    info = describe_device({}, ANDROID_5, {"platform": '"Android"'})
    with pytest.raises(DeviceNotSupported) as refused:
        check_device_policy(policy, info)
    assert refused.value.details["min_version"] == "5.1"


def test_r_x8_only_the_kept_part_of_a_user_agent_is_read():
    """A crafted user agent (8 KB of "iPad") costs what a real one does: only its first
    USER_AGENT_KEPT characters are searched, the ones that are stored."""
    padded = "iPad" * 2040 + " CPU iPhone OS 17_1 like Mac OS X"
    info = describe_device({"platform": "web"}, padded, {})
    assert (info.platform, info.os_version, len(info.user_agent)) == (WEB, "", USER_AGENT_KEPT)
    assert describe_device({"platform": "web"}, IPHONE_17, {}).os_version == "17.1"
