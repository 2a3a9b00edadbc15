"""`skarbiec demo`: demo data that can be loaded any number of times (R-X2)."""

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from skarbiec.audit.services import verify_audit_chains
from skarbiec.channels.web.login import begin_web_login
from skarbiec.core.context import RequestContext
from skarbiec.members.models import CreditUnion, Member, StaffProfile
from skarbiec.members.pesel import is_valid_pesel
from skarbiec.operations.demo import DEMO_HELPLINE, DEMO_SORT_CODE, load_demo_data

pytestmark = pytest.mark.django_db
WEB = RequestContext(ip_address="127.0.0.1", channel="web")


def test_r_x2_demo_is_idempotent() -> None:
    first = load_demo_data()
    second = load_demo_data()
    assert second.created == []
    assert CreditUnion.objects.filter(sort_code=DEMO_SORT_CODE).count() == 1
    assert Member.objects.count() == 2
    assert User.objects.count() == 3
    assert [m.login for m, _ in first.members] == [m.login for m, _ in second.members]
    assert verify_audit_chains() == []


def test_r_x2_demo_credit_union_and_members() -> None:
    data = load_demo_data()
    cu = data.credit_union
    assert cu.name == "SKOK Demo"
    assert cu.helpline_phones == DEMO_HELPLINE
    for member, _password in data.members:
        assert is_valid_pesel(member.pesel)
        assert len(member.login) == 10 and member.login.isdigit()


def test_r_x2_r_w1_demo_members_log_in_at_once_with_printed_password() -> None:
    data = load_demo_data()
    for member, password in data.members:
        member.refresh_from_db()
        assert not member.must_change_password
        pending = begin_web_login(member.login, password, WEB)
        assert pending.member_id == member.pk


def test_r_x2_demo_staff_roles_and_passwords() -> None:
    data = load_demo_data()
    roles = {}
    for user, role, password in data.staff:
        assert user.check_password(password)
        roles[user.username] = (role, user.staff.credit_union)
    assert roles["admin"] == (StaffProfile.Role.ADMIN, None)
    assert roles["clerk"] == (StaffProfile.Role.CLERK, data.credit_union)
    assert roles["helpline"] == (StaffProfile.Role.HELPLINE, data.credit_union)


def test_r_x2_demo_command_prints_logins_and_passwords(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("demo")
    out = capsys.readouterr().out
    for member in Member.objects.all():
        assert member.login in out
    assert "Demo#Anna2024" in out and "Demo#Admin2024" in out
    call_command("demo")
    assert "nothing created" in capsys.readouterr().out
