from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from skarbiec.channels.lifecycle import (
    block_web_channel_on_request,
    renew_temporary_password,
    unblock_web_channel,
)
from skarbiec.core.errors import DomainError
from skarbiec.members.cli import add_staff_argument, cli_staff
from skarbiec.members.models import Member


def member_by_login(login: str) -> Member:
    member = Member.objects.filter(login=login.strip()).first()
    if member is None:
        raise CommandError(f"No member has the Login {login.strip()}.")
    return member


class Command(BaseCommand):
    help = (
        "The web channel (R-X2, R-B3): `web unblock LOGIN` sends a new temporary password; "
        "`web renew-password LOGIN` replaces a temporary password not yet changed (expired or "
        "never received); `web block LOGIN` blocks the internet service at the member's request."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        unblock = sub.add_parser(
            "unblock", help="unblock the internet service; a new temporary password goes by SMS"
        )
        unblock.add_argument("login")
        add_staff_argument(unblock)
        renew = sub.add_parser(
            "renew-password",
            help="a new temporary password by SMS while the member has not yet set their own",
        )
        renew.add_argument("login")
        add_staff_argument(renew)
        block = sub.add_parser("block", help="block the internet service at the member's request")
        block.add_argument("login")
        add_staff_argument(block)

    def handle(self, *args: Any, **options: Any) -> None:
        member_by_login(options["login"])
        staff = cli_staff(options["staff"], permission="act_on_channels")
        member = staff.member(options["login"])
        try:
            if options["action"] == "block":
                changed = block_web_channel_on_request(member, staff.ctx)
            elif options["action"] == "renew-password":
                renew_temporary_password(member, staff.ctx)
            else:
                unblock_web_channel(member, staff.ctx)
        except DomainError as exc:
            raise CommandError(str(exc.message))
        if options["action"] == "block":
            state = "blocked" if changed else "was already blocked"
            self.stdout.write(
                f"Internet service of {member.full_name} (Login {member.login}) {state}."
            )
            return
        if options["action"] == "renew-password":
            self.stdout.write(
                f"A new temporary password for {member.full_name} (Login {member.login}) was "
                f"queued by SMS to {member.phone}; the old one no longer works."
            )
            return
        self.stdout.write(
            f"Internet service of {member.full_name} (Login {member.login}) unblocked; "
            f"a new temporary password was queued by SMS to {member.phone}."
        )
