"""The mobile channel state machine at the service level (§5, R-W4, R-W5, R-W6, R-M7, R-O4)."""

import pytest
from django.db import transaction

from skarbiec.audit.models import AuditEvent
from skarbiec.audit.services import verify_audit_chains
from skarbiec.channels.errors import (
    DeviceNotBound,
    MobileNotOffered,
    TransitionNotAllowed,
)
from skarbiec.channels.lifecycle import (
    block_mobile_channel,
    deactivate_mobile_channel,
    remove_mobile_device,
)
from skarbiec.channels.mobile.app_password import (
    confirm_mobile_app_reactivation,
    confirm_mobile_channel_activation,
    request_mobile_app_reactivation,
    request_mobile_channel_activation,
)
from skarbiec.channels.models import MobileChannel, MobileDevice
from skarbiec.channels.queries import mobile_channel_overview
from skarbiec.client import DeviceClient
from skarbiec.members.errors import PasswordRejected
from skarbiec.otp.errors import OtpExpired, OtpInvalid
from tests.api.steps import (
    MOBILE_PASSWORD,
    PIN,
    WEB,
    WEB_PASSWORD,
    enable_mobile_channel,
    last_code,
    reactivate_mobile_app,
    ready_device,
)
from tests.factories import make_credit_union, make_member, password_matches

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keep_test_connection():
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def device(settings):
    settings.PUBLIC_URL = "https://localhost:8443"
    client = DeviceClient.in_process(language="en")
    yield client
    client.close()


def state(member) -> str:
    return MobileChannel.objects.get(member=member).state


def test_r_w4_activation_defines_password_confirmed_by_sms_code():
    member = make_member()
    assert mobile_channel_overview(member).can_activate_channel
    otp_id = request_mobile_channel_activation(member, MOBILE_PASSWORD, MOBILE_PASSWORD, WEB)
    channel = MobileChannel.objects.get(member=member)
    # Between the steps the new password waits in the database, not yet in force.
    assert (
        channel.state == "disabled" and channel.pending_password_hash and not channel.password_hash
    )
    confirm_mobile_channel_activation(member, otp_id, last_code(member), WEB)
    channel.refresh_from_db()
    assert channel.state == "pending" and not channel.pending_password_hash
    assert password_matches(channel.password_hash, MOBILE_PASSWORD)
    assert AuditEvent.objects.filter(member_id=member.pk, event="mobile_channel_activated").exists()


def test_r_w4_r_p1_password_rules_listed_at_once():
    member = make_member()
    with pytest.raises(PasswordRejected) as e:
        request_mobile_channel_activation(member, "ąb c", "other", WEB)
    assert len(e.value.problems) >= 3  # different, too short, characters
    assert state(member) == "disabled"


def test_r_x6_defining_the_app_password_does_not_compare_the_web_password():
    """Comparing the new app password with the web password would test web passwords for
    anyone holding a web session, uncounted: it is not done (R-X6)."""
    member = make_member()
    assert request_mobile_channel_activation(member, WEB_PASSWORD, WEB_PASSWORD, WEB)


def test_r_w4_wrong_code_keeps_the_channel_disabled():
    member = make_member()
    otp_id = request_mobile_channel_activation(member, MOBILE_PASSWORD, MOBILE_PASSWORD, WEB)
    wrong = "000000" if last_code(member) != "000000" else "111111"
    with pytest.raises(OtpInvalid):
        confirm_mobile_channel_activation(member, otp_id, wrong, WEB)
    assert state(member) == "disabled"


def test_r_w4_activation_only_from_disabled():
    member = make_member()
    enable_mobile_channel(member)
    with pytest.raises(TransitionNotAllowed):
        request_mobile_channel_activation(member, "Other#pass99", "Other#pass99", WEB)


def test_r_m1_not_offered_refuses_activation_in_the_web():
    member = make_member(credit_union=make_credit_union(offers_mobile_app=False))
    with pytest.raises(MobileNotOffered):
        request_mobile_channel_activation(member, MOBILE_PASSWORD, MOBILE_PASSWORD, WEB)
    assert not mobile_channel_overview(member).can_activate_channel


def test_r_w5_reactivation_is_the_unblock_path(device):
    member = ready_device(device)
    block_mobile_channel(member, "pin_failures", WEB)
    overview = mobile_channel_overview(member)
    assert overview.state == "blocked" and overview.can_reactivate_app
    reactivate_mobile_app(member, "Again#pass77")
    channel = MobileChannel.objects.get(member=member)
    assert channel.state == "pending" and channel.failed_auth_attempts == 0
    # The blocked device is unbound: the app must be activated again (R-M5).
    assert not MobileDevice.objects.filter(member=member, state="active").exists()
    device.reset()
    device.activate(member.login, "Again#pass77")
    device.confirm_activation(last_code(member))
    device.set_pin(PIN)
    assert state(member) == "active"


def test_r_w5_reactivation_refused_while_active_with_a_device(device):
    member = ready_device(device)
    assert not mobile_channel_overview(member).can_reactivate_app
    with pytest.raises(TransitionNotAllowed):
        request_mobile_app_reactivation(member, "Again#pass77", "Again#pass77", WEB)


def test_r_w5_reactivation_allowed_pending_without_device():
    member = make_member()
    enable_mobile_channel(member)
    otp_id = request_mobile_app_reactivation(member, "Again#pass77", "Again#pass77", WEB)
    confirm_mobile_app_reactivation(member, otp_id, last_code(member), WEB)
    assert state(member) == "pending"


def test_r_w5_code_of_another_request_is_refused():
    member = make_member()
    enable_mobile_channel(member)
    first = request_mobile_app_reactivation(member, "Again#pass77", "Again#pass77", WEB)
    request_mobile_app_reactivation(member, "Again#pass88", "Again#pass88", WEB)
    with pytest.raises(OtpExpired):  # the newer request voided the older code
        confirm_mobile_app_reactivation(member, first, last_code(member), WEB)


def test_r_w4_r_m7_deactivation_from_any_state(device):
    member = ready_device(device)
    deactivate_mobile_channel(member, WEB)
    channel = MobileChannel.objects.get(member=member)
    assert channel.state == "disabled" and channel.password_hash == ""
    assert not MobileDevice.objects.filter(member=member, state="active").exists()
    overview = mobile_channel_overview(member)
    assert overview.device is None and overview.can_activate_channel
    # From BLOCKED too.
    enable_mobile_channel(member)
    block_mobile_channel(member, "test", WEB)
    deactivate_mobile_channel(member, WEB)
    assert state(member) == "disabled"


def test_r_w6_overview_and_device_removal(device):
    member = ready_device(device)
    overview = mobile_channel_overview(member)
    assert overview.state == "active"
    assert overview.device.name == "Test phone" and overview.device.platform == "android"
    assert overview.device.last_used_at is not None and not overview.device.fingerprint_enabled
    remove_mobile_device(member, device.device_id, WEB)
    assert state(member) == "pending"
    assert mobile_channel_overview(member).can_reactivate_app
    with pytest.raises(DeviceNotBound):
        remove_mobile_device(member, device.device_id, WEB)


def test_r_w6_cannot_remove_another_members_device(device):
    ready_device(device)
    stranger = make_member()
    with pytest.raises(DeviceNotBound):
        remove_mobile_device(stranger, device.device_id, WEB)


def test_r_o4_block_inside_the_callers_transaction(device):
    """The ledger blocks the app when three wrong codes authorise an order; a rollback of the
    caller's transaction takes the block back with it."""
    member = ready_device(device)
    with pytest.raises(RuntimeError), transaction.atomic():
        block_mobile_channel(member, "order_codes", WEB)
        assert state(member) == "blocked"
        raise RuntimeError
    assert state(member) == "active"
    block_mobile_channel(member, "order_codes", WEB)
    assert state(member) == "blocked"
    event = AuditEvent.objects.filter(member_id=member.pk, event="mobile_channel_blocked").get()
    assert event.data["reason"] == "order_codes"


def test_r_x6_a_disabled_channel_can_be_blocked_and_blocking_twice_changes_nothing():
    """Wrong activation attempts on a DISABLED channel count like any others and block it
    (R-X6); the way out is the internet service's Activate mobile app (R-W5)."""
    member = make_member()
    block_mobile_channel(member, "wrong_passwords", WEB)
    assert state(member) == "blocked"
    block_mobile_channel(member, "member_request", WEB)
    events = AuditEvent.objects.filter(member_id=member.pk, event="mobile_channel_blocked")
    assert events.count() == 1


def test_r_b5_every_transition_keeps_the_audit_chain_intact(device):
    member = ready_device(device)
    block_mobile_channel(member, "t", WEB)
    reactivate_mobile_app(member, "Again#pass77")
    deactivate_mobile_channel(member, WEB)
    assert verify_audit_chains() == []
