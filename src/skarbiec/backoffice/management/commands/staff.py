from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from skarbiec.backoffice.errors import NotInScope
from skarbiec.backoffice.staff_accounts import reset_authenticator
from skarbiec.core.errors import DomainError
from skarbiec.members.cli import FIRST_STAFF, add_staff_argument, cli_staff
from skarbiec.members.models import CreditUnion, StaffProfile
from skarbiec.members.staff import create_staff_user


class Command(BaseCommand):
    help = "Staff users of the back-office (R-X2): `staff create --username U --role ROLE`."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a staff user and print its password")
        create.add_argument("--username", required=True)
        create.add_argument("--role", required=True, choices=StaffProfile.Role.values)
        create.add_argument(
            "--credit-union",
            metavar="SORTCODE",
            help="sort code of the credit union (required except for installation admins)",
        )
        add_staff_argument(create)
        reset = sub.add_parser(
            "reset-authenticator",
            help="make a staff member enrol their authenticator app again (after the secret "
            "key was changed, or a lost phone)",
        )
        reset.add_argument("--username", required=True)
        add_staff_argument(reset)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "reset-authenticator":
            self._reset_authenticator(options)
            return
        credit_union = None
        if options["credit_union"]:
            credit_union = CreditUnion.objects.filter(sort_code=options["credit_union"]).first()
            if credit_union is None:
                raise CommandError(f"No credit union with sort code {options['credit_union']}.")
        ctx = FIRST_STAFF
        if options["staff"] or StaffProfile.objects.exists():
            # Only an administrator creates staff, in their own credit union (R-B4, R-B6).
            staff = cli_staff(options["staff"], permission="manage_staff")
            if not staff.installation_wide and (
                credit_union is None or not staff.may_act_in(credit_union)
            ):
                raise CommandError("An administrator of a credit union creates only its staff.")
            ctx = staff.ctx
        try:
            user, password = create_staff_user(
                options["username"], options["role"], credit_union, ctx
            )
        except DomainError as exc:
            raise CommandError(_describe(exc))
        where = credit_union.name if credit_union else "the whole installation"
        self.stdout.write(f"Staff user {user.username} ({options['role']}, {where}) created.")
        self.stdout.write(f"Password: {password}")

    def _reset_authenticator(self, options: dict[str, Any]) -> None:
        staff = cli_staff(options["staff"], permission="manage_staff")
        target = StaffProfile.objects.filter(
            user__username__iexact=options["username"].strip()
        ).first()
        try:
            if target is None:
                raise NotInScope()
            reset_authenticator(staff.profile, target.pk, staff.ctx, at_the_server=True)
        except DomainError as exc:
            raise CommandError(_describe(exc))
        self.stdout.write(
            f"{target.user.username} enrols the authenticator app again at the next login."
        )


def _describe(exc: DomainError) -> str:
    problems = exc.details.get("problems")
    return " ".join([str(exc.message), *problems]) if problems else str(exc.message)
