"""R-B2, R-B6: a staff command does only what the staff member's role allows, as the
back-office's page for the same action does (the same permission, asked by
`members/staff.require_permission`); refused, it exits non-zero and changes nothing."""

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from skarbiec.audit.models import AuditEvent
from skarbiec.channels.models import MobileChannel, WebChannel
from skarbiec.ledger.accounts import member_accounts, open_account
from skarbiec.ledger.models import Account
from skarbiec.members.models import Member, StaffProfile
from skarbiec.members.staff import create_staff_user
from tests.factories import CLI, make_credit_union, make_member, make_pesel

pytestmark = pytest.mark.django_db

ROLES = ("helpline", "clerk", "admin")


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def place():
    cu = make_credit_union()
    member = make_member(cu)
    open_account(member, Account.Kind.CURRENT, CLI)
    for role in ROLES:
        create_staff_user(f"{role}.skok", role, cu, CLI)
    return cu, member


def _commands(cu, member):
    account = member_accounts(member)[0]
    return {
        # command: (arguments, the roles whose group holds the page's permission)
        "deposit": (["ledger", "deposit", "--account", account.number, "--amount", "5,00"],
                    {"clerk", "admin"}),  # handle_cash
        "balances": (["ledger", "balances", "--login", member.login], {"clerk", "admin"}),
        "open-account": (["ledger", "open-account", "--login", member.login, "--kind", "savings"],
                         {"clerk", "admin"}),  # onboard_members
        "member-create": (["member", "create", "--credit-union", cu.sort_code, "--first-name",
                           "Ola", "--last-name", "Nowa", "--pesel", make_pesel(),
                           "--phone", "600700800"], {"clerk", "admin"}),
        "web-block": (["web", "block", member.login], {"helpline", "admin"}),  # act_on_channels
        "mobile-block": (["mobile", "block", member.login], {"helpline", "admin"}),
        "cu-configure": (["creditunion", "configure", cu.sort_code, "--name", "SKOK Nowy"],
                         {"admin"}),  # configure_credit_union
        "cu-list": (["creditunion", "list"], {"admin"}),
        "staff-create": (["staff", "create", "--username", "nowy", "--role", "clerk",
                          "--credit-union", cu.sort_code], {"admin"}),  # manage_staff
        "staff-reset": (["staff", "reset-authenticator", "--username", "clerk.skok"],
                        {"admin"}),
    }  # fmt: skip


def _state(member):
    member.refresh_from_db()
    return (
        Member.objects.count(),
        Account.objects.count(),
        [a.booked_minor for a in member_accounts(member)],
        WebChannel.objects.get(member=member).state,
        MobileChannel.objects.filter(member=member).values_list("state", flat=True).first(),
        member.credit_union.name,
        StaffProfile.objects.count(),
        AuditEvent.objects.count(),
    )


COMMANDS = [
    "deposit",
    "balances",
    "open-account",
    "member-create",
    "web-block",
    "mobile-block",
    "cu-configure",
    "cu-list",
    "staff-create",
    "staff-reset",
]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("role", ROLES)
def test_r_b2_r_b6_a_staff_command_runs_only_for_the_roles_its_page_allows(place, command, role):
    cu, member = place
    arguments, allowed = _commands(cu, member)[command]
    staff = ["--staff", f"{role}.skok"]
    if role in allowed:
        call_command(*arguments, *staff)
        return
    before = _state(member)
    with pytest.raises(CommandError, match="Your role does not allow this"):
        call_command(*arguments, *staff)
    assert _state(member) == before


def test_r_b5_balances_on_the_command_line_are_recorded_as_seen(place, capsys):
    """As on the back-office's cash page: who saw a member's money is in the log."""
    cu, member = place
    call_command("ledger", "balances", "--login", member.login, "--staff", "clerk.skok")
    seen = AuditEvent.objects.filter(event="account_balance_viewed", actor="staff:clerk.skok")
    accounts = member_accounts(member)
    assert sorted(e.data["account"] for e in seen) == sorted(a.number for a in accounts)
    assert {(e.member_id, e.credit_union_id, e.channel) for e in seen} == {
        (member.pk, cu.pk, "cli")
    }
    assert accounts[0].number[-4:] in capsys.readouterr().out.replace(" ", "")
