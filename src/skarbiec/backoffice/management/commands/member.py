from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from skarbiec.backoffice.onboarding import NewMember, onboard_member
from skarbiec.core.errors import DomainError
from skarbiec.ledger.models import Account
from skarbiec.ledger.nrb import format_nrb
from skarbiec.members.cli import add_staff_argument, cli_staff
from skarbiec.members.models import CreditUnion


class Command(BaseCommand):
    help = (
        "Members (R-X2, R-B2): `member create` onboards a member as the back-office does: a "
        "Login, a current account and the internet service."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser(
            "create",
            help="onboard a member: issue a Login, open a current account, send a temporary "
            "password by SMS",
        )
        create.add_argument("--credit-union", required=True, metavar="SORTCODE")
        create.add_argument("--first-name", required=True)
        create.add_argument("--last-name", required=True)
        create.add_argument("--pesel", required=True)
        create.add_argument("--phone", required=True, help="mobile phone for SMS codes")
        create.add_argument("--email", default="")
        create.add_argument("--language", default="pl", choices=["pl", "en"])
        create.add_argument(
            "--savings", action="store_true", help="open a savings account beside the current one"
        )
        add_staff_argument(create)

    def handle(self, *args: Any, **options: Any) -> None:
        if not CreditUnion.objects.filter(sort_code=options["credit_union"]).exists():
            raise CommandError(f"No credit union with sort code {options['credit_union']}.")
        staff = cli_staff(options["staff"], permission="onboard_members")
        credit_union = staff.credit_union(options["credit_union"])
        new = NewMember(
            first_name=options["first_name"],
            last_name=options["last_name"],
            pesel=options["pesel"],
            phone=options["phone"],
            email=options["email"],
            language=options["language"],
            open_savings=options["savings"],
            credit_union_id=credit_union.pk,
        )
        try:
            # The back-office's onboarding, so both give a member the same (R-B2).
            member = onboard_member(staff.profile, new, staff.ctx)
        except DomainError as exc:
            raise CommandError(str(exc.message))
        # The temporary password is never shown here: it reaches only the member's phone.
        self.stdout.write(f"Member {member.full_name} onboarded in {credit_union.name}.")
        self.stdout.write(f"Login: {member.login}")
        for account in Account.objects.filter(member=member).order_by("pk"):
            self.stdout.write(f"Account ({account.kind}): {format_nrb(account.number)}")
        self.stdout.write(f"The temporary password was queued by SMS to {member.phone}.")
