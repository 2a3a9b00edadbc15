"""R-B3: the helpline finds a member (Login, name, PESEL, phone), sees channel states, device,
security events and pending orders, and acts at the member's request: block web, block mobile
(lost phone → BLOCKED, sessions end), unblock web (new temporary password, refused when not
blocked), lift the member's own block. Nothing unblocks the mobile app; a forged request is
refused and audited. Every action names the staff member (R-B5)."""

import pytest

from skarbiec.audit.models import AuditEvent
from skarbiec.channels.lifecycle import block_web_channel
from skarbiec.channels.models import MobileChannel, WebChannel
from skarbiec.client import ApiError
from skarbiec.otp.models import SmsMessage
from tests.api.steps import device_beside_web_client, member_with_channel, ready_device
from tests.factories import CLI


@pytest.mark.parametrize("how", ["login", "name", "pesel", "phone"])
def test_r_b3_search_by_login_name_pesel_or_phone(helpline_client, member, how):
    query = {
        "login": member.login,
        "name": "nowak anna",
        "pesel": member.pesel,
        "phone": "600 700 800",
    }[how]
    page = helpline_client.post("/backoffice/members/", {"q": query}, follow=True)
    assert page.status_code == 200
    assert f"/backoffice/members/{member.pk}/".encode() in page.content


def test_r_b3_r_x9_a_search_never_puts_what_was_typed_in_a_url(helpline_client, helpline, member):
    """A PESEL in a URL lands in the browser's history and in logs; the search is sent by POST
    and its results shown after a redirect (the back button returns to them)."""
    from tests.backoffice.staff import staff_client

    response = helpline_client.post("/backoffice/members/", {"q": member.pesel})
    assert response.status_code == 302 and response["Location"] == "/backoffice/members/"
    results = helpline_client.get(response["Location"])
    assert f"/backoffice/members/{member.pk}/".encode() in results.content
    assert f'value="{member.pesel}"'.encode() in results.content
    # A query in a URL (an old bookmark, a link from elsewhere) searches nothing.
    stray = staff_client(helpline).get("/backoffice/members/", {"q": member.pesel})
    assert stray.status_code == 200
    assert f"/backoffice/members/{member.pk}/".encode() not in stray.content


def test_r_b3_member_page_shows_channels_device_events_and_the_mobile_rule(helpline_client, member):
    page = helpline_client.get(f"/backoffice/members/{member.pk}/")
    assert page.status_code == 200
    assert b'data-web-state="active"' in page.content
    assert b'data-mobile-state="disabled"' in page.content
    assert b"data-mobile-unblock-note" in page.content
    assert b"member_onboarded" in page.content  # the last security events
    assert b"/mobile/unblock/" not in page.content  # no form unblocks the app


def test_r_b3_block_mobile_for_a_lost_phone_blocks_the_app_and_ends_its_session(
    helpline_client, cu
):
    device = device_beside_web_client(language="en")
    member = ready_device(device, member_with_channel(credit_union=cu))
    assert device.session()
    response = helpline_client.post(f"/backoffice/members/{member.pk}/mobile/block/")
    assert response.status_code == 302
    assert MobileChannel.objects.get(member=member).state == MobileChannel.State.BLOCKED
    with pytest.raises(ApiError) as ended:
        device.session()
    assert ended.value.code == "channel_blocked"
    event = AuditEvent.objects.get(event="mobile_channel_blocked", member_id=member.pk)
    assert event.actor == "staff:ola.helpline" and event.channel == "backoffice"
    assert event.data["reason"] == "lost_phone"


def test_r_b3_unblock_web_sends_a_new_temporary_password_and_is_refused_when_not_blocked(
    helpline_client, member
):
    before = member.web_password_hash
    sms_before = SmsMessage.objects.filter(member=member).count()
    refused = helpline_client.post(f"/backoffice/members/{member.pk}/web/unblock/")
    assert refused.status_code == 409
    assert b"not blocked" in refused.content
    member.refresh_from_db()
    assert member.web_password_hash == before
    assert SmsMessage.objects.filter(member=member).count() == sms_before

    block_web_channel(WebChannel.objects.get(member=member), "wrong_passwords", CLI)
    done = helpline_client.post(f"/backoffice/members/{member.pk}/web/unblock/")
    assert done.status_code == 302
    member.refresh_from_db()
    assert WebChannel.objects.get(member=member).state == WebChannel.State.ACTIVE
    assert member.must_change_password and member.web_password_hash != before
    assert SmsMessage.objects.filter(member=member).count() == sms_before + 1
    assert AuditEvent.objects.get(event="web_channel_unblocked").actor == "staff:ola.helpline"


def test_r_b3_r_w1_an_expired_temporary_password_shows_on_the_member_page_and_is_renewed(
    helpline_client, cu
):
    from datetime import timedelta

    from skarbiec.core import clock
    from skarbiec.members.models import Member
    from tests.factories import make_member

    member = make_member(cu, must_change_password="yes")
    page = helpline_client.get(f"/backoffice/members/{member.pk}/")
    assert b'data-temporary-password="valid"' in page.content
    # Expired (the staff session would not survive moving the clock by days).
    expired = clock.now() - timedelta(seconds=1)
    Member.objects.filter(pk=member.pk).update(temporary_password_expires_at=expired)
    page = helpline_client.get(f"/backoffice/members/{member.pk}/")
    assert b'data-temporary-password="expired"' in page.content
    renew = f"/backoffice/members/{member.pk}/web/temporary-password/"
    assert renew.encode() in page.content
    sms_before = SmsMessage.objects.filter(member=member).count()
    assert helpline_client.post(renew).status_code == 302
    page = helpline_client.get(f"/backoffice/members/{member.pk}/")
    assert b'data-temporary-password="valid"' in page.content and b"data-done" in page.content
    assert SmsMessage.objects.filter(member=member).count() == sms_before + 1
    event = AuditEvent.objects.get(event="temporary_password_renewed")
    assert event.actor == "staff:ola.helpline" and event.member_id == member.pk


def test_r_b3_no_temporary_password_is_renewed_over_the_members_own(
    helpline_client, clerk_client, member
):
    page = helpline_client.get(f"/backoffice/members/{member.pk}/")
    renew = f"/backoffice/members/{member.pk}/web/temporary-password/"
    assert renew.encode() not in page.content and b"data-temporary-password" not in page.content
    before = member.web_password_hash
    refused = helpline_client.post(renew)
    assert refused.status_code == 409 and b"set their own password" in refused.content
    assert clerk_client.post(renew).status_code == 403
    member.refresh_from_db()
    assert member.web_password_hash == before
    assert not AuditEvent.objects.filter(event="temporary_password_renewed")


def test_r_b3_block_web_at_request_then_lift_it_keeping_the_password(helpline_client, member):
    before = member.web_password_hash
    assert helpline_client.post(f"/backoffice/members/{member.pk}/web/block/").status_code == 302
    assert WebChannel.objects.get(member=member).state == WebChannel.State.BLOCKED
    assert (
        helpline_client.post(f"/backoffice/members/{member.pk}/web/lift-block/").status_code == 302
    )
    assert WebChannel.objects.get(member=member).state == WebChannel.State.ACTIVE
    member.refresh_from_db()
    assert member.web_password_hash == before and not member.must_change_password
    actors = set(
        AuditEvent.objects.filter(
            event__in=["web_channel_blocked", "web_channel_block_lifted"]
        ).values_list("actor", flat=True)
    )
    assert actors == {"staff:ola.helpline"}


def test_r_b3_a_block_after_wrong_passwords_is_not_lifted_without_a_new_password(
    helpline_client, member
):
    block_web_channel(WebChannel.objects.get(member=member), "wrong_passwords", CLI)
    response = helpline_client.post(f"/backoffice/members/{member.pk}/web/lift-block/")
    assert response.status_code == 409
    assert WebChannel.objects.get(member=member).state == WebChannel.State.BLOCKED


@pytest.mark.parametrize("role", ["helpline", "clerk", "admin"])
def test_r_b3_a_forged_mobile_unblock_is_refused_and_audited(member, role):
    from tests.backoffice.staff import make_staff, staff_client

    client = staff_client(make_staff(role, member.credit_union))
    from skarbiec.channels.lifecycle import block_mobile_channel

    block_mobile_channel(member, "lost_phone", CLI)
    response = client.post(f"/backoffice/members/{member.pk}/mobile/unblock/")
    assert response.status_code == 403
    assert b"cannot unblock the mobile app" in response.content
    assert MobileChannel.objects.get(member=member).state == MobileChannel.State.BLOCKED
    assert AuditEvent.objects.filter(
        event="staff_mobile_unblock_refused", member_id=member.pk
    ).exists()


def test_r_b3_the_clerk_cannot_act_on_channels(clerk_client, member):
    response = clerk_client.post(f"/backoffice/members/{member.pk}/web/block/")
    assert response.status_code == 403
    assert WebChannel.objects.get(member=member).state == WebChannel.State.ACTIVE


def test_r_b3_no_back_office_url_unblocks_the_mobile_app():
    from skarbiec.backoffice import urls

    for pattern in urls.urlpatterns:
        if "mobile" in str(pattern.pattern) and "unblock" in str(pattern.pattern):
            assert pattern.callback.__name__ == "unblock_mobile"
            assert "refuse" in (pattern.callback.__doc__ or "") or "refused" in (
                pattern.callback.__doc__ or ""
            )


def test_r_b5_whom_staff_looked_up_is_recorded_but_not_what_they_typed(
    helpline_client, member, helpline
):
    """Banking secrecy: who searched, whom the search showed and whose page was opened are in
    the audit log; the PESEL typed is not. The member page's last events leave them out."""
    helpline_client.post("/backoffice/members/", {"q": member.pesel}, follow=True)
    page = helpline_client.get(f"/backoffice/members/{member.pk}/")
    searched = AuditEvent.objects.get(event="members_searched")
    assert searched.data == {"by": "number", "shown": [member.pk]}
    assert searched.member_id == member.pk  # one member shown: filed under them
    actor = f"staff:{helpline.user.username}"
    assert searched.actor == actor and member.pesel not in str(searched.data)
    viewed = AuditEvent.objects.get(event="member_viewed")
    assert (viewed.member_id, viewed.actor) == (member.pk, actor)
    assert b"member_viewed" not in page.content and b"members_searched" not in page.content
    helpline_client.get("/backoffice/audit/export.csv", {"member": member.login})
    exported = AuditEvent.objects.get(event="audit_exported")
    assert exported.data["filter"] == {"member": "found"} and exported.data["rows"] >= 1
    assert exported.member_id == member.pk


def test_r_b3_the_helpline_sees_a_members_accounts_but_not_their_balances(
    helpline_client, clerk_client, member
):
    """Banking secrecy: the helpline answers about channels and devices and needs the
    accounts' names and numbers, not what is on them; the clerk who pays cash does."""
    from skarbiec.ledger.accounts import deposit_cash, open_account
    from skarbiec.ledger.amounts import format_amount

    account = open_account(member, "current", CLI)
    deposit_cash(account, 1234_56, CLI)
    helpline = helpline_client.get(f"/backoffice/members/{member.pk}/").content.decode()
    clerk = clerk_client.get(f"/backoffice/members/{member.pk}/").content.decode()
    for page in (helpline, clerk):
        assert account.number[-4:] in page.replace(" ", "")
    shown = format_amount(1234_56, "en")  # the staff pages of these clients are in English
    assert shown not in helpline and shown in clerk
