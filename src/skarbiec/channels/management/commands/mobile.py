from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from skarbiec.channels.lifecycle import block_mobile_channel
from skarbiec.channels.management.commands.web import CLI, member_by_login
from skarbiec.channels.models import MobileChannel

UNBLOCK_REFUSED = (
    "Staff cannot unblock the mobile app. The member unblocks it in the internet service: "
    "Settings → Activate mobile app (a new mobile-app password confirmed with an SMS code), "
    "then activates the app again."
)


class Command(BaseCommand):
    help = (
        "The mobile channel (R-B3): `mobile block LOGIN` blocks the mobile app at the member's "
        "request (lost phone). There is deliberately no way for staff to unblock it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        block = sub.add_parser("block", help="block the mobile app at the member's request")
        block.add_argument("login")
        unblock = sub.add_parser("unblock", help="refused: only the member can unblock the app")
        unblock.add_argument("login")

    def handle(self, *args: Any, **options: Any) -> None:
        member = member_by_login(options["login"])
        if options["action"] == "unblock":
            raise CommandError(UNBLOCK_REFUSED)
        block_mobile_channel(member, "member_request", CLI)
        state = MobileChannel.objects.get(member=member).state
        self.stdout.write(
            f"Mobile app of {member.full_name} (Login {member.login}): {state}; "
            "open sessions were ended."
        )
