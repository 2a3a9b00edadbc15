"""R-B5: every staff action names the staff member; a filterable audit view (member, event,
channel, staff, time) and a CSV export (semicolon-separated, UTF-8 with BOM); `skarbiec audit
verify` names the first broken link."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from skarbiec.audit.models import AuditEvent
from skarbiec.audit.services import seal_audit_chains
from skarbiec.core import clock
from tests.factories import make_member


def test_r_b5_staff_actions_name_the_staff_member(helpline_client, member):
    helpline_client.post(f"/backoffice/members/{member.pk}/web/block/")
    event = AuditEvent.objects.get(event="web_channel_blocked", member_id=member.pk)
    assert (event.actor, event.channel) == ("staff:ola.helpline", "backoffice")
    assert event.ip_address == "127.0.0.1"


def test_r_b5_audit_view_filters(helpline_client, member, cu):
    other = make_member(cu, first_name="Piotr", last_name="Zieliński")
    helpline_client.post(f"/backoffice/members/{member.pk}/web/block/")
    helpline_client.post(f"/backoffice/members/{other.pk}/mobile/block/")
    seal_audit_chains()

    def rows(**query):
        page = helpline_client.get("/backoffice/audit/", query)
        assert page.status_code == 200
        html = page.content.decode()
        return html[html.index("data-audit-rows") : html.index("</table>")]

    by_member = rows(member=member.login)
    assert "web_channel_blocked" in by_member and "mobile_channel_blocked" not in by_member
    by_event = rows(event="mobile_channel_blocked")
    assert "mobile_channel_blocked" in by_event and "web_channel_blocked" not in by_event
    by_staff = rows(staff="ola.helpline")
    assert "member_onboarded" not in by_staff and "web_channel_blocked" in by_staff
    by_channel = rows(channel="cli")
    assert "member_onboarded" in by_channel and "web_channel_blocked" not in by_channel
    today = timezone.localdate(clock.now())  # the filter names local days
    assert "web_channel_blocked" in rows(since=today.isoformat(), until=today.isoformat())
    yesterday = (today - timedelta(days=1)).isoformat()
    assert "web_channel_blocked" not in rows(until=yesterday)
    bad = helpline_client.get("/backoffice/audit/", {"member": "12", "since": "2026-13-45"})
    assert bad.status_code == 400 and b"data-field-error" in bad.content


def test_r_b5_csv_export_is_semicolon_separated_utf8_with_bom(helpline_client, member):
    helpline_client.post(f"/backoffice/members/{member.pk}/web/block/")
    response = helpline_client.get("/backoffice/audit/export.csv", {"member": member.login})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    header, body = table[0], table[1:]
    assert header[:4] == ["time", "chain", "seq", "event"]
    events = {row[3]: row for row in body}
    assert events["web_channel_blocked"][5] == "staff:ola.helpline"
    assert events["web_channel_blocked"][4] == member.login


def test_r_b5_reading_the_log_and_a_members_balance_is_recorded(
    helpline_client, clerk_client, member
):
    """Who looked at a member's events or money is one filter of the log away."""
    from skarbiec.ledger.accounts import open_account
    from skarbiec.ledger.models import Account
    from tests.factories import CLI

    helpline_client.get("/backoffice/audit/", {"member": member.login})
    viewed = AuditEvent.objects.get(event="audit_viewed")
    assert (viewed.actor, viewed.member_id) == ("staff:ola.helpline", member.pk)
    assert viewed.data["filter"] == {"member": "found"}
    helpline_client.get("/backoffice/audit/export.csv", {"member": member.login})
    assert AuditEvent.objects.get(event="audit_exported").member_id == member.pk
    account = open_account(member, Account.Kind.CURRENT, CLI)
    assert clerk_client.get(f"/backoffice/accounts/{account.pk}/cash/").status_code == 200
    seen = AuditEvent.objects.get(event="account_balance_viewed")
    assert (seen.actor, seen.member_id) == ("staff:piotr.clerk", member.pk)
    assert seen.data == {"account": account.number}
    # The helpline's member page lists the member's own events, not who looked at them.
    page = helpline_client.get(f"/backoffice/members/{member.pk}/").content
    assert b"audit_viewed" not in page and b"account_balance_viewed" not in page


def test_r_b5_text_typed_into_the_audit_filter_is_recorded_only_as_what_the_log_holds(
    helpline_client, clerk_client
):
    """A PESEL typed into the staff or event field is not kept in the log."""
    pesel = "85031212343"
    response = helpline_client.get("/backoffice/audit/", {"staff": pesel, "event": pesel})
    assert response.status_code == 200
    typed = AuditEvent.objects.filter(event="audit_viewed").latest("pk")
    assert typed.data["filter"] == {"staff": "none", "event": "other"}
    assert pesel not in str(AuditEvent.objects.values_list("data", flat=True))
    helpline_client.get(
        "/backoffice/audit/export.csv",
        {"staff": "PIOTR.Clerk", "event": "cash_deposited", "channel": "backoffice"},
    )
    named = AuditEvent.objects.get(event="audit_exported")
    assert named.data["filter"] == {
        "staff": "piotr.clerk",
        "event": "cash_deposited",
        "channel": "backoffice",
    }
    # Staff of another credit union are "none", as if they did not exist (R-B6).
    from skarbiec.members.staff import create_staff_user
    from tests.factories import CLI, make_credit_union

    create_staff_user("obcy.admin", "admin", make_credit_union(), CLI)
    helpline_client.get("/backoffice/audit/", {"staff": "obcy.admin"})
    other = AuditEvent.objects.filter(event="audit_viewed").latest("pk")
    assert other.data["filter"] == {"staff": "none"}


def test_r_b5_clerks_do_not_read_the_audit_log(clerk_client):
    assert clerk_client.get("/backoffice/audit/").status_code == 403
    assert clerk_client.get("/backoffice/audit/export.csv").status_code == 403


@pytest.mark.django_db
def test_r_b5_audit_verify_names_the_first_broken_link(member, capsys):
    seal_audit_chains()
    victim = AuditEvent.objects.filter(chain_key=f"cu:{member.credit_union_id}").order_by("seq")[0]
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE audit_auditevent SET actor = %s WHERE id = %s", ["staff:someone", victim.pk]
        )
    with pytest.raises(CommandError, match=f"chain cu:{member.credit_union_id} event #1"):
        call_command("audit", "verify")
    err = capsys.readouterr().err
    assert f"first broken link: chain cu:{member.credit_union_id}, event #1" in err
    assert victim.event in err and "event content changed" in err


def test_r_b5_an_installation_administrators_reads_are_in_the_members_credit_union_log(member, cu):
    """An installation administrator belongs to no credit union; what they looked up about a
    member is filed in that member's credit union's log, where its staff look for it."""
    from skarbiec.backoffice.audit_log import AuditFilter, filtered_events
    from tests.backoffice.staff import make_staff, staff_client

    root = staff_client(make_staff("admin", None, "root.admin"))
    root.post("/backoffice/members/", {"q": member.pesel}, follow=True)
    root.get("/backoffice/audit/", {"member": member.login})
    root.get(f"/backoffice/members/{member.pk}/")
    local = make_staff("admin", cu, "local.admin")
    seen = {
        e.event
        for e in filtered_events(local, AuditFilter(member=member.login))
        if e.actor == "staff:root.admin"
    }
    assert seen == {"members_searched", "audit_viewed", "member_viewed"}


def test_r_b5_a_cash_form_shown_again_with_its_refusal_records_the_balance_read(
    clerk_client, member
):
    from skarbiec.ledger.accounts import open_account
    from skarbiec.ledger.models import Account
    from tests.factories import CLI

    account = open_account(member, Account.Kind.CURRENT, CLI)
    url = f"/backoffice/accounts/{account.pk}/cash/"
    refused = clerk_client.post(url, {})
    assert refused.status_code == 400 and b"data-available" in refused.content  # the balance
    assert AuditEvent.objects.filter(event="account_balance_viewed").count() == 1
