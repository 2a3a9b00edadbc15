"""R-B3 from the command line: staff block the web or mobile channel at the member's request,
unblock the web channel, and can not unblock the mobile app (the seed's rule)."""

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import translation

from skarbiec.audit.models import AuditEvent
from skarbiec.channels.models import MobileChannel, WebChannel
from skarbiec.client import ApiError
from tests.api.steps import PIN, ready_device
from tests.factories import CLI, make_credit_union, make_member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _helpline(member):
    from skarbiec.members.staff import create_staff_user

    create_staff_user("tele.skok", "helpline", member.credit_union, CLI)
    return "tele.skok"


def test_r_b3_web_block_on_request_then_login_refused_with_helpline():
    member = make_member()
    staff = _helpline(member)
    call_command("web", "block", member.login, "--staff", staff)
    assert WebChannel.objects.get(member=member).state == WebChannel.State.BLOCKED
    response = Client().post("/login/", {"login": member.login, "password": "Start#2024pl"})
    assert response.status_code == 403
    assert "801 803 800" in response.content.decode()
    call_command("web", "block", member.login, "--staff", staff)  # again: nothing changes
    call_command("web", "unblock", member.login, "--staff", staff)
    assert WebChannel.objects.get(member=member).state == WebChannel.State.ACTIVE
    # Not blocked any more: refused with an explanation, the password stays (R-B3).
    member.refresh_from_db()
    before = member.web_password_hash
    with pytest.raises(CommandError, match="(not blocked|nie jest zablokowany)"):
        call_command("web", "unblock", member.login, "--staff", staff)
    member.refresh_from_db()
    assert member.web_password_hash == before
    assert AuditEvent.objects.filter(event="web_channel_blocked", actor="staff:tele.skok").exists()


def test_r_b3_mobile_block_on_request_ends_the_session_and_staff_cannot_unblock(device):
    member = ready_device(device)
    assert device.session()  # the app is logged in
    call_command("mobile", "block", member.login, "--staff", _helpline(member))
    assert MobileChannel.objects.get(member=member).state == MobileChannel.State.BLOCKED
    with pytest.raises(ApiError) as ended:
        device.session()  # the open session is over and the app learns why
    assert (ended.value.status, ended.value.code) == (403, "channel_blocked")
    with pytest.raises(ApiError) as refused:
        device.login_pin(PIN)
    assert refused.value.body["code"] == "channel_blocked"
    with pytest.raises(CommandError, match="Staff cannot unblock the mobile app"):
        call_command("mobile", "unblock", member.login, "--staff", "tele.skok")
    assert MobileChannel.objects.get(member=member).state == MobileChannel.State.BLOCKED
    assert AuditEvent.objects.filter(
        event="staff_mobile_unblock_refused", actor="staff:tele.skok", member_id=member.pk
    ).exists()


def test_r_b3_unknown_login_is_a_clear_error():
    with pytest.raises(CommandError, match="No member has the Login 0000000000"):
        call_command("mobile", "block", "0000000000")


def test_r_b5_staff_commands_name_the_staff_member_or_refuse():
    """The CLI records the named staff member; without one (and no terminal) it refuses."""
    member = make_member()
    with pytest.raises(CommandError, match="--staff USERNAME"):
        call_command("web", "block", member.login)
    with pytest.raises(CommandError, match="No active staff member nobody"):
        call_command("web", "block", member.login, "--staff", "nobody")
    assert WebChannel.objects.get(member=member).state == WebChannel.State.ACTIVE


def test_r_b6_staff_commands_act_only_in_their_own_credit_union():
    member = make_member()
    other_cu = make_credit_union()
    from skarbiec.members.staff import create_staff_user

    create_staff_user("obcy", "helpline", other_cu, CLI)
    for command in (("web", "block"), ("mobile", "block"), ("web", "unblock")):
        with pytest.raises(CommandError, match="No member has the Login"):
            call_command(*command, member.login, "--staff", "obcy")
    assert WebChannel.objects.get(member=member).state == WebChannel.State.ACTIVE
    assert MobileChannel.objects.get(member=member).state == MobileChannel.State.DISABLED


def test_r_b3_cli_asks_for_the_staff_member_on_a_terminal(monkeypatch):
    from skarbiec.members.cli import cli_staff
    from skarbiec.members.staff import create_staff_user

    member = make_member()
    create_staff_user("ola", "helpline", member.credit_union, CLI)
    staff = cli_staff(None, permission=None, interactive=True, ask=lambda: "ola")
    assert staff.ctx.actor == "staff:ola"
