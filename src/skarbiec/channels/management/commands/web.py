from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from skarbiec.audit.services import RequestContext
from skarbiec.channels.services.web import unblock_web_channel
from skarbiec.core.errors import DomainError
from skarbiec.members.models import Member

CLI = RequestContext(actor="staff:cli", channel="cli")


class Command(BaseCommand):
    help = "The web channel (R-X2, R-B3): `web unblock LOGIN` sends a new temporary password."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        unblock = sub.add_parser(
            "unblock", help="unblock the internet service; a new temporary password goes by SMS"
        )
        unblock.add_argument("login")

    def handle(self, *args: Any, **options: Any) -> None:
        login = options["login"].strip()
        member = Member.objects.filter(login=login).first()
        if member is None:
            raise CommandError(f"No member has the Login {login}.")
        try:
            unblock_web_channel(member, CLI)
        except DomainError as exc:
            raise CommandError(str(exc.message))
        self.stdout.write(
            f"Internet service of {member.full_name} (Login {member.login}) unblocked; "
            f"a new temporary password was queued by SMS to {member.phone}."
        )
