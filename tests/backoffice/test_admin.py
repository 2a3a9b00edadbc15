"""R-B4, R-T1: the administrator sets the credit union's settings (name, sort code, helpline
numbers, offers the mobile app, logo) and the §8 policy within its bounds; installation
administrators create a second, fully separate credit union; staff accounts and roles. The
same from the CLI (`skarbiec creditunion create|configure|list`)."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from skarbiec.audit.models import AuditEvent
from skarbiec.members.branding import logo_url
from skarbiec.members.models import CreditUnion, StaffProfile
from tests.backoffice.staff import make_staff, staff_client

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

VALID = {
    "name": "SKOK Nowa Nazwa",
    "helpline_phones": "801 111 222\n58 111 22 33",
    "offers_mobile_app": "on",
    "idle_timeout_seconds": "240",
    "session_absolute_seconds": "3600",
    "max_auth_failures": "5",
    "max_otp_failures": "3",
    "max_web_password_failures": "3",
    "otp_ttl_seconds": "180",
    "otp_digits": "6",
    "pin_length": "5",
    "refuse_rooted_devices": "on",
    "activation_requires_otp": "on",
    "min_android_version": "6.0",
    "min_ios_version": "12.0",
}


def test_r_b4_r_t1_settings_and_policy_are_saved_and_audited(admin_client, cu):
    data = {**VALID, "sort_code": cu.sort_code, "logo": io.BytesIO(PNG)}
    data["logo"].name = "logo.png"
    response = admin_client.post(f"/backoffice/credit-unions/{cu.pk}/", data)
    assert response.status_code == 302, response.content[:300]
    cu.refresh_from_db()
    assert cu.name == "SKOK Nowa Nazwa" and cu.helpline_phones == ["801 111 222", "58 111 22 33"]
    assert (cu.idle_timeout_seconds, cu.otp_ttl_seconds, cu.max_auth_failures) == (240, 180, 5)
    assert cu.logo_content_type == "image/png"
    # The logo heads the member's pages.
    logo = admin_client.get(f"/brand/{cu.pk}/logo")
    assert logo.status_code == 200 and logo.content == PNG
    # Shown in the internet service and the app (one credit union on this installation).
    shown = f'src="{logo_url(cu)}"'.replace("&", "&amp;").encode()
    assert shown in Client().get("/").content
    assert shown in Client().get("/m/").content
    event = AuditEvent.objects.get(event="credit_union_configured")
    assert event.actor == "staff:ewa.admin"
    assert event.data["changed"]["idle_timeout_seconds"] == {"old": 300, "new": 240}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("idle_timeout_seconds", "301"),
        ("max_auth_failures", "6"),
        ("max_otp_failures", "6"),
        ("max_web_password_failures", "6"),
        ("otp_ttl_seconds", "301"),
        ("sort_code", "1234"),
        ("helpline_phones", "call us"),
        ("min_android_version", "latest"),
        # R-M8: the seed's minimum systems are floors (outside review, 7 December).
        ("min_android_version", "0"),
        ("min_android_version", "5.0.9"),
        ("min_ios_version", "9.3"),
    ],
)
def test_r_b4_policy_bounds_are_enforced(admin_client, cu, field, value):
    data = {**VALID, "sort_code": cu.sort_code, field: value}
    response = admin_client.post(f"/backoffice/credit-unions/{cu.pk}/", data)
    assert response.status_code == 400
    assert f'data-field-error="{field}"'.encode() in response.content
    cu.refresh_from_db()
    assert cu.name != "SKOK Nowa Nazwa"  # nothing saved


def test_r_b4_r_l3_the_sort_code_stays_once_a_member_has_an_account(admin_client, cu):
    """Members' account numbers carry the sort code: a new one would make transfers between
    members external (money to the settlement account, never to the payee) and leave their
    numbers to a credit union that takes the freed code. Before that, the credit union's own
    accounts follow the new code, and the freed code is free for another."""
    from skarbiec.backoffice.credit_unions import configure_credit_union, create_credit_union
    from skarbiec.core.errors import DomainError
    from skarbiec.ledger.accounts import open_account
    from skarbiec.ledger.models import Account
    from tests.factories import CLI, make_member

    def new_credit_union(name: str, sort_code: str) -> CreditUnion:
        return create_credit_union(
            None, name=name, sort_code=sort_code, helpline_phones="801 000 111",
            offers_mobile_app=True, ctx=CLI,
        )  # fmt: skip

    fresh = new_credit_union("SKOK Nowy", "95999001")
    configure_credit_union(None, fresh, {"sort_code": "95999002"}, CLI)
    own = Account.objects.filter(credit_union=fresh).values_list("number", flat=True)
    assert own.count() == 3 and all(n[2:10] == "95999002" for n in own)
    taker = new_credit_union("SKOK Trzeci", "95999001")
    open_account(make_member(taker), "current", CLI)  # its own accounts' numbers were free

    open_account(make_member(cu), "current", CLI)
    old = cu.sort_code
    response = admin_client.post(
        f"/backoffice/credit-unions/{cu.pk}/", {**VALID, "sort_code": "95999003"}
    )
    assert response.status_code == 400
    assert b'data-field-error="sort_code"' in response.content
    assert b"it cannot change once a member has an account" in response.content
    with pytest.raises(DomainError) as refused:
        configure_credit_union(None, cu, {"sort_code": "95999003", "name": "Inna"}, CLI)
    assert refused.value.details["field"] == "sort_code"
    cu.refresh_from_db()
    assert (cu.sort_code, cu.name) == (old, "SKOK Własny")  # nothing saved
    with pytest.raises(CommandError):
        call_command("creditunion", "configure", old, "--new-sort-code", "95999003")
    assert CreditUnion.objects.get(pk=cu.pk).sort_code == old


def test_r_b4_the_service_enforces_the_bounds_whatever_the_form(cu):
    from skarbiec.backoffice.credit_unions import configure_credit_union
    from skarbiec.core.errors import DomainError
    from tests.factories import CLI

    for field, value in (("idle_timeout_seconds", 600), ("max_auth_failures", 9),
                         ("otp_ttl_seconds", 600), ("max_web_password_failures", 10)):  # fmt: skip
        with pytest.raises(DomainError) as refused:
            configure_credit_union(None, cu, {field: value}, CLI)
        assert refused.value.details["field"] == field


def test_r_b4_only_installation_administrators_create_a_credit_union(admin_client, cu):
    assert admin_client.get("/backoffice/credit-unions/new/").status_code == 403
    root = staff_client(make_staff("admin", None, "root"))
    response = root.post(
        "/backoffice/credit-unions/new/",
        {"name": "SKOK Drugi", "sort_code": "19401999", "helpline_phones": "801 000 111"},
    )
    assert response.status_code == 302
    second = CreditUnion.objects.get(sort_code="19401999")
    assert second.offers_mobile_app is not False or True
    # Fully separate: the first credit union's administrator does not see it.
    assert admin_client.get(f"/backoffice/credit-unions/{second.pk}/").status_code == 404
    assert b"SKOK Drugi" not in admin_client.get("/backoffice/credit-unions/").content


def test_r_b4_staff_accounts_and_roles(admin_client, cu):
    response = admin_client.post(
        "/backoffice/staff/new/", {"username": "nowy.pracownik", "role": "helpline"}
    )
    assert response.status_code == 200 and b"data-staff-password" in response.content
    colleague = StaffProfile.objects.get(user__username="nowy.pracownik")
    assert colleague.credit_union == cu
    url = f"/backoffice/staff/{colleague.pk}/"
    assert admin_client.post(url + "role/", {"role": "clerk"}).status_code == 302
    colleague.refresh_from_db()
    assert colleague.role == "clerk"
    assert list(colleague.user.groups.values_list("name", flat=True)) == ["clerk"]
    StaffProfile.objects.filter(pk=colleague.pk).update(locked_at="2026-01-01T00:00:00Z")
    assert admin_client.post(url + "unlock/").status_code == 302
    colleague.refresh_from_db()
    assert colleague.locked_at is None
    assert admin_client.post(url + "deactivate/").status_code == 302
    colleague.user.refresh_from_db()
    assert not colleague.user.is_active
    actors = set(
        AuditEvent.objects.filter(event__startswith="staff_").values_list("actor", flat=True)
    )
    assert "staff:ewa.admin" in actors
    # A credit union's administrator creates no installation administrator.
    admin = StaffProfile.objects.get(user__username="ewa.admin")
    assert admin_client.post(f"/backoffice/staff/{admin.pk}/deactivate/").status_code == 403


def _run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_r_b4_r_t1_creditunion_command_create_configure_list(db):
    _run(
        "creditunion",
        "create",
        "--name",
        "SKOK Pierwszy",
        "--sort-code",
        "19402000",
        "--helpline",
        "801 000 222",
    )  # fmt: skip  (a new installation: nobody to name)
    make_staff("admin", None, "root")
    with pytest.raises(CommandError, match="--staff"):
        _run("creditunion", "create", "--name", "X", "--sort-code", "19402001", "--helpline", "1")
    _run("creditunion", "create", "--name", "SKOK Drugi", "--sort-code", "19402001",
         "--helpline", "801 000 333", "--offers-mobile-app", "no", "--staff", "root")  # fmt: skip
    second = CreditUnion.objects.get(sort_code="19402001")
    assert not second.offers_mobile_app
    _run("creditunion", "configure", "19402001", "--idle-timeout-seconds", "120",
         "--staff", "root")  # fmt: skip
    second.refresh_from_db()
    assert second.idle_timeout_seconds == 120
    with pytest.raises(CommandError, match="idle_timeout_seconds"):
        _run("creditunion", "configure", "19402001", "--idle-timeout-seconds", "900",
             "--staff", "root")  # fmt: skip
    local = make_staff("admin", second, "lokalny")
    assert local.credit_union == second
    listing = _run("creditunion", "list", "--staff", "lokalny")
    assert "SKOK Drugi" in listing and "SKOK Pierwszy" not in listing
    with pytest.raises(CommandError, match="No credit union"):
        _run("creditunion", "configure", "19402000", "--name", "Przejęty", "--staff", "lokalny")
    assert AuditEvent.objects.filter(event="credit_union_configured", actor="staff:root").exists()


@pytest.mark.django_db
def test_r_b1_r_b4_no_role_change_makes_a_helpline_operator_of_the_whole_installation():
    """An outside review: creating a helpline operator without a credit union was refused, but
    turning an installation administrator into one was not, and that operator then saw every
    credit union's members. The role change is refused, and such a row sees nothing."""
    from tests.factories import make_credit_union, make_member

    member = make_member(make_credit_union(name="SKOK B"), first_name="Beata")
    root = make_staff("admin", None, "root.admin")
    other_root = make_staff("admin", None, "second.admin")
    response = staff_client(root).post(
        f"/backoffice/staff/{other_root.pk}/role/", {"role": "helpline"}
    )
    assert response.status_code == 400
    other_root.refresh_from_db()
    assert other_root.role == StaffProfile.Role.ADMIN
    # A row written around the services (an import, a hand edit) widens nothing either.
    StaffProfile.objects.filter(pk=other_root.pk).update(role=StaffProfile.Role.HELPLINE)
    other_root.refresh_from_db()
    helpline = staff_client(other_root)
    assert helpline.get(f"/backoffice/members/{member.pk}/").status_code == 404
    found = helpline.post("/backoffice/members/", {"q": "Beata"}, follow=True).content.decode()
    assert f"/backoffice/members/{member.pk}/" not in found


def test_r_x5_staff_roles_are_named_in_the_pages_language(admin_client, clerk):
    admin_client.cookies["skarbiec_lang"] = "pl"
    page = admin_client.get("/backoffice/staff/").content.decode()
    assert "pracownik oddziału" in page and "konsultant infolinii" in page
    assert "branch clerk" not in page and "helpline operator" not in page
    admin_client.cookies["skarbiec_lang"] = "en"
    assert "branch clerk" in admin_client.get("/backoffice/staff/").content.decode()


def test_r_x8_an_anonymous_upload_to_the_settings_is_never_parsed(cu, monkeypatch):
    """The only page taking files (a logo) may get a megabyte: its body is read into form
    fields only once the staff member's access was checked, so an anonymous one costs no
    parsing (R-X8: no unauthenticated request costs more than a few milliseconds)."""
    from django.http.request import HttpRequest

    parsed: list[str] = []
    parse = HttpRequest._load_post_and_files
    monkeypatch.setattr(
        HttpRequest,
        "_load_post_and_files",
        lambda request: parsed.append(request.path) or parse(request),
    )
    parts = {f"f{n}": "%41" * 1000 for n in range(300)}
    visitor = Client(enforce_csrf_checks=True)
    visitor.get("/backoffice/login/")  # a CSRF cookie, as anyone can have
    assert visitor.cookies
    parsed.clear()
    response = visitor.post(f"/backoffice/credit-unions/{cu.pk}/", parts)
    assert response.status_code == 302 and response["Location"] == "/backoffice/login/"
    assert parsed == []


def test_r_b1_the_settings_page_refuses_a_form_without_its_csrf_token(admin_client, cu):
    """CSRF is checked inside the access check there (not by the middleware): still checked."""
    admin_client.handler.enforce_csrf_checks = True
    data = {**VALID, "sort_code": cu.sort_code}
    response = admin_client.post(f"/backoffice/credit-unions/{cu.pk}/", data)
    assert response.status_code == 403
    cu.refresh_from_db()
    assert cu.name != "SKOK Nowa Nazwa"
