"""R-B6: staff of one credit union can neither read nor act on another's members, accounts,
receipts, staff or settings, by any back-office URL or parameter.

The matrix is built from the back-office URLconf itself, so a page added later is covered
without touching this test: every URL × role × own/other credit union × GET/POST.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver

from skarbiec.audit.models import AuditEvent
from skarbiec.audit.services import seal_audit_chains
from skarbiec.backoffice import urls as backoffice_urls
from skarbiec.channels.models import MobileChannel, WebChannel
from skarbiec.ledger.accounts import deposit_cash, open_account
from skarbiec.ledger.models import Account
from skarbiec.members.models import CreditUnion, Member, StaffProfile
from tests.backoffice.staff import make_staff, staff_client
from tests.factories import CLI, make_credit_union, make_member

PUBLIC = {"login", "enrol", "code", "recovery", "logout"}


def _patterns() -> list[tuple[str, str, list[str]]]:
    """(name, route template, parameter names) of every back-office URL."""
    found = []
    for p in backoffice_urls.urlpatterns:
        assert isinstance(p, URLPattern) and not isinstance(p, URLResolver)
        route = str(p.pattern)
        params = re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route)
        names = [a or b for a, b in params]
        found.append((p.name, route, names))
    return found


def _url(route: str, values: dict[str, object]) -> str:
    route = route.lstrip("^").rstrip("$")

    def fill(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return str(values[name])

    return "/backoffice/" + re.sub(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)", fill, route)


class Tenant:
    def __init__(self, name: str) -> None:
        self.cu = make_credit_union(name=name)
        self.member = make_member(self.cu, first_name="Jan", last_name=name.split()[-1])
        self.account = open_account(self.member, "current", CLI)
        self.txn = deposit_cash(self.account, 10_000, CLI)
        self.colleague = make_staff("helpline", self.cu)

    def values(self, action: str = "unlock") -> dict[str, object]:
        return {
            "member_id": self.member.pk,
            "account_id": self.account.pk,
            "txn_id": self.txn.pk,
            "credit_union_id": self.cu.pk,
            "staff_id": self.colleague.pk,
            "action": action,
        }

    def snapshot(self) -> tuple:
        member = Member.objects.get(pk=self.member.pk)
        colleague = StaffProfile.objects.select_related("user").get(pk=self.colleague.pk)
        cu = CreditUnion.objects.get(pk=self.cu.pk)
        return (
            member.web_password_hash,
            member.must_change_password,
            WebChannel.objects.get(member=member).state,
            MobileChannel.objects.get(member=member).state,
            Account.objects.filter(member=member).count(),
            Account.objects.get(pk=self.account.pk).booked_minor,
            colleague.role,
            colleague.user.is_active,
            colleague.user.password,
            colleague.totp_secret,
            cu.name,
            cu.idle_timeout_seconds,
            Member.objects.filter(credit_union=cu).count(),
            StaffProfile.objects.filter(credit_union=cu).count(),
        )


POST_DATA = {
    "role": "admin",
    "kind": "savings",
    "direction": "withdrawal",
    "amount": "10,00",
    "name": "Przejęty SKOK",
    "sort_code": "12345678",
    "helpline_phones": "801 000 000",
    "idle_timeout_seconds": "300",
}


@pytest.fixture
def tenants(db):
    return Tenant("SKOK Własny"), Tenant("SKOK Obcy")


@pytest.mark.parametrize("role", ["helpline", "clerk", "admin"])
def test_r_b6_every_url_refuses_another_credit_unions_objects(tenants, role):
    own, other = tenants
    staff = make_staff(role, own.cu)
    client = staff_client(staff)
    before = other.snapshot()
    other_events = AuditEvent.objects.filter(credit_union_id=other.cu.pk).count()
    checked = 0
    for name, route, params in _patterns():
        if not params or name in PUBLIC:
            continue
        actions = ["unlock", "role", "password", "deactivate", "reset-authenticator"]
        for action in actions if "action" in params else ["-"]:
            url = _url(route, other.values(action))
            for method in ("get", "post"):
                response = getattr(client, method)(url, POST_DATA)
                assert response.status_code in (403, 404, 405), (role, method, url)
                assert other.cu.name.encode() not in response.content, (role, method, url)
                assert other.member.login.encode() not in response.content
                checked += 1
    assert checked >= 30
    assert other.snapshot() == before
    # Nothing was done to the other credit union (a refused attempt may be audited in one's own).
    assert AuditEvent.objects.filter(credit_union_id=other.cu.pk).count() == other_events


@pytest.mark.parametrize("role", ["helpline", "clerk", "admin"])
def test_r_b6_own_objects_are_reachable_by_the_roles_that_may(tenants, role):
    """The other half of the matrix: the refusals above are about the credit union, not a page
    that refuses everyone."""
    own, _other = tenants
    staff = make_staff(role, own.cu)
    client = staff_client(staff)
    allowed = {
        "helpline": {"member", "members", "audit", "audit_csv", "home"},
        "clerk": {"member", "members", "open_account", "cash", "receipt", "onboard", "home"},
        "admin": {"member", "members", "open_account", "cash", "receipt", "onboard", "audit",
                  "audit_csv", "credit_unions", "credit_union_settings", "staff", "staff_new",
                  "home"},
    }[role]  # fmt: skip
    for name, route, params in _patterns():
        actions = ("block", "unblock", "lift", "renew")
        if name in PUBLIC or "action" in params or name.startswith(actions):
            continue
        if name in ("recovery_codes", "credit_union_new"):
            continue
        response = client.get(_url(route, own.values()))
        expected = 200 if name in allowed else 403
        assert response.status_code == expected, (role, name, response.status_code)


def test_r_b6_search_and_filters_never_reach_another_credit_union(tenants):
    own, other = tenants
    admin = make_staff("admin", own.cu)
    client = staff_client(admin)
    for q in (other.member.login, other.member.pesel, other.member.phone, "Obcy"):
        page = client.post("/backoffice/members/", {"q": q}, follow=True)
        assert page.status_code == 200
        assert f"/backoffice/members/{other.member.pk}/".encode() not in page.content
    assert (
        own.member.login.encode()
        in client.post("/backoffice/members/", {"q": own.member.login}, follow=True).content
    )
    seal_audit_chains()
    page = client.get("/backoffice/audit/", {"member": other.member.login})
    assert other.account.number.encode() not in page.content
    assert b"No events match" in page.content
    csv = client.get("/backoffice/audit/export.csv").content.decode("utf-8-sig")
    assert str(other.account.number) not in csv and other.member.login not in csv
    assert str(own.account.number) in csv


def test_r_b6_forms_cannot_point_at_another_credit_union(tenants):
    own, other = tenants
    admin = make_staff("admin", own.cu)
    client = staff_client(admin)
    response = client.post(
        "/backoffice/staff/new/",
        {"username": "intruz", "role": "helpline", "credit_union": other.cu.pk},
    )
    assert response.status_code == 200
    assert StaffProfile.objects.get(user__username="intruz").credit_union_id == own.cu.pk


def test_r_b6_installation_administrators_see_every_credit_union(tenants):
    own, other = tenants
    root = make_staff("admin", None)
    client = staff_client(root)
    for tenant in (own, other):
        assert client.get(f"/backoffice/members/{tenant.member.pk}/").status_code == 200
        assert client.get(f"/backoffice/credit-unions/{tenant.cu.pk}/").status_code == 200
