from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from skarbiec.channels.enrolment import create_member
from skarbiec.core.errors import DomainError
from skarbiec.members.cli import add_staff_argument, cli_staff
from skarbiec.members.models import CreditUnion


class Command(BaseCommand):
    help = "Members (R-X2, R-B2): `member create` onboards a member with the internet service."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser(
            "create", help="onboard a member: issue a Login, send a temporary password by SMS"
        )
        create.add_argument("--credit-union", required=True, metavar="SORTCODE")
        create.add_argument("--first-name", required=True)
        create.add_argument("--last-name", required=True)
        create.add_argument("--pesel", required=True)
        create.add_argument("--phone", required=True, help="mobile phone for SMS codes")
        create.add_argument("--email", default="")
        create.add_argument("--language", default="pl", choices=["pl", "en"])
        add_staff_argument(create)

    def handle(self, *args: Any, **options: Any) -> None:
        if not CreditUnion.objects.filter(sort_code=options["credit_union"]).exists():
            raise CommandError(f"No credit union with sort code {options['credit_union']}.")
        staff = cli_staff(options["staff"], permission="onboard_members")
        credit_union = staff.credit_union(options["credit_union"])
        if not options["first_name"].strip() or not options["last_name"].strip():
            raise CommandError("First and last name must not be empty.")
        try:
            member, _password = create_member(
                credit_union,
                first_name=options["first_name"],
                last_name=options["last_name"],
                pesel=options["pesel"],
                phone=options["phone"],
                email=options["email"],
                language=options["language"],
                ctx=staff.ctx,
            )
        except DomainError as exc:
            raise CommandError(str(exc.message))
        # The temporary password is never shown here: it reaches only the member's phone.
        self.stdout.write(f"Member {member.full_name} onboarded in {credit_union.name}.")
        self.stdout.write(f"Login: {member.login}")
        self.stdout.write(f"The temporary password was queued by SMS to {member.phone}.")
