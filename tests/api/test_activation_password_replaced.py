"""An activation whose mobile-app password is replaced while it goes on (R-M7, R-M2, R-X6).
Found by a review of the change of 7 December: a new password defined after the old one had
passed, but before the activation's row was written, slipped past the binding's check; without
the SMS-code policy nothing was checked at all; and a password replaced during its Argon2
comparison still passed."""

import pytest

from skarbiec.channels.lifecycle import deactivate_mobile_channel
from skarbiec.channels.mobile import activation
from skarbiec.channels.models import MobileChannel, MobileDevice
from skarbiec.client import ApiError, DeviceClient
from skarbiec.core import attempts
from tests.api.steps import (
    MOBILE_PASSWORD,
    WEB,
    enable_mobile_channel,
    last_code,
    member_with_channel,
)
from tests.factories import make_credit_union, make_member

pytestmark = pytest.mark.django_db
NEW = "Inne!Haslo2024"


def _new_password(member) -> None:
    deactivate_mobile_channel(member, WEB)
    enable_mobile_channel(member, NEW)


def _after_the_password_passed(monkeypatch, member) -> None:
    policy_check = activation.check_device_policy

    def check(policy, device):
        _new_password(member)  # the old password passed and committed
        return policy_check(policy, device)

    monkeypatch.setattr(activation, "check_device_policy", check)


def _during_the_comparison(monkeypatch, member) -> None:
    original = attempts.PasswordGuess._matches

    def matches(self, row):
        matched = original(self, row)
        monkeypatch.setattr(attempts.PasswordGuess, "_matches", original)
        _new_password(member)  # commits while this activation's password is compared
        return matched

    monkeypatch.setattr(attempts.PasswordGuess, "_matches", matches)


def _nothing_bound(member) -> None:
    assert not MobileDevice.objects.filter(member=member, state="active").exists()
    channel = MobileChannel.objects.get(member=member)
    assert channel.state == MobileChannel.State.PENDING
    assert channel.failed_password_attempts == 0  # not the stranger's wrong guess


def test_r_m7_a_new_password_after_the_old_one_passed_binds_nothing_with_a_code(monkeypatch):
    member = member_with_channel()
    stranger = DeviceClient.in_process(language="en")
    try:
        _after_the_password_passed(monkeypatch, member)
        started = stranger.activate(member.login, MOBILE_PASSWORD)
        monkeypatch.undo()
        assert started["otp_required"] is True
        with pytest.raises(ApiError) as refused:
            stranger.confirm_activation(last_code(member))
        assert refused.value.code == "activation_invalid"
    finally:
        stranger.close()
    _nothing_bound(member)


def test_r_m7_a_new_password_after_the_old_one_passed_binds_nothing_without_a_code(
    monkeypatch,
):
    member = make_member(credit_union=make_credit_union(activation_requires_otp=False))
    enable_mobile_channel(member)
    stranger = DeviceClient.in_process(language="en")
    try:
        _after_the_password_passed(monkeypatch, member)
        with pytest.raises(ApiError) as refused:
            stranger.activate(member.login, MOBILE_PASSWORD)
        assert refused.value.code == "activation_invalid"
    finally:
        stranger.close()
    _nothing_bound(member)


def test_r_m7_r_x6_a_password_replaced_during_its_comparison_passes_nothing(monkeypatch):
    member = member_with_channel()
    stranger = DeviceClient.in_process(language="en")
    try:
        _during_the_comparison(monkeypatch, member)
        with pytest.raises(ApiError) as refused:
            stranger.activate(member.login, MOBILE_PASSWORD)
        assert refused.value.code == "activation_invalid"
    finally:
        stranger.close()
    _nothing_bound(member)
    # The member's own phone activates with the new password.
    phone = DeviceClient.in_process(language="en")
    try:
        assert phone.activate(member.login, NEW)["otp_required"] is True
        phone.confirm_activation(last_code(member))
    finally:
        phone.close()
    assert MobileChannel.objects.get(member=member).state == MobileChannel.State.ACTIVE
