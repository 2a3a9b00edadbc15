"""Who acts on the command line (R-B5, R-B6): staff commands name the staff member with
`--staff USERNAME` (asked for on a terminal when missing, refused otherwise), so the audit log
records a person, never a shared identity; a staff member of one credit union acts only on
its members, and only as their role allows (the permission the back-office's page for the
same action asks, `members/staff.require_permission`).

The very first staff member of an installation is created without one (there is nobody to
name yet); that is audited as `cli:first-staff`.
"""

import sys
from collections.abc import Callable
from dataclasses import dataclass

from django.core.management.base import CommandError, CommandParser

from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError
from skarbiec.members.models import CreditUnion, Member, StaffProfile
from skarbiec.members.staff import require_permission

FIRST_STAFF = RequestContext(actor="cli:first-staff", channel="cli")


def add_staff_argument(parser: CommandParser) -> None:
    parser.add_argument(
        "--staff",
        metavar="USERNAME",
        default=None,
        help="the staff member acting, named in the audit log (asked for on a terminal)",
    )


@dataclass(frozen=True)
class CliStaff:
    profile: StaffProfile
    ctx: RequestContext

    @property
    def installation_wide(self) -> bool:
        return self.profile.credit_union_id is None

    def may_act_in(self, credit_union: CreditUnion) -> bool:
        return self.installation_wide or self.profile.credit_union_id == credit_union.pk

    def member(self, login: str) -> Member:
        """A member of the staff member's credit union; any other Login is "no member"."""
        member = Member.objects.select_related("credit_union").filter(login=login.strip()).first()
        if member is None or not self.may_act_in(member.credit_union):
            raise CommandError(f"No member has the Login {login.strip()}.")
        return member

    def credit_union(self, sort_code: str) -> CreditUnion:
        cu = CreditUnion.objects.filter(sort_code=(sort_code or "").strip()).first()
        if cu is None or not self.may_act_in(cu):
            raise CommandError(f"No credit union with sort code {sort_code}.")
        return cu


def _ask() -> str:
    return input("Staff member acting (username): ")


def cli_staff(
    username: str | None,
    *,
    permission: str | None,
    interactive: bool | None = None,
    ask: Callable[[], str] = _ask,
) -> CliStaff:
    """The named, active staff member, whose role holds `permission` (each command names the
    one its back-office page asks; None only where every role may). Missing: asked for on a
    terminal, refused otherwise."""
    if not (username or "").strip():
        if interactive is None:
            interactive = sys.stdin.isatty()
        if not interactive:
            raise CommandError(
                "Name the staff member acting with --staff USERNAME (recorded in the audit log)."
            )
        username = ask()
    name = (username or "").strip()
    profile = (
        StaffProfile.objects.select_related("user", "credit_union")
        .filter(user__username__iexact=name, user__is_active=True)
        .first()
        if name
        else None
    )
    if profile is None:
        raise CommandError(f"No active staff member {name or '(none given)'}.")
    if permission is not None:
        try:
            require_permission(profile, permission)
        except DomainError as refused:
            raise CommandError(f"{profile.user.username}: {refused.message}")
    ctx = RequestContext(actor=f"staff:{profile.user.username}", channel="cli")
    return CliStaff(profile, ctx)
