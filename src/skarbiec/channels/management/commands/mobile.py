from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from skarbiec.audit.services import record_event
from skarbiec.channels.lifecycle import block_mobile_channel
from skarbiec.channels.management.commands.web import member_by_login
from skarbiec.channels.models import MobileChannel
from skarbiec.members.cli import add_staff_argument, cli_staff

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
        add_staff_argument(block)
        unblock = sub.add_parser("unblock", help="refused: only the member can unblock the app")
        unblock.add_argument("login")
        add_staff_argument(unblock)

    def handle(self, *args: Any, **options: Any) -> None:
        member_by_login(options["login"])
        if options["action"] == "unblock":
            if options["staff"]:  # a named attempt is audited under that name (R-B3, R-B5)
                staff = cli_staff(options["staff"], permission="act_on_channels")
                member = staff.member(options["login"])
                record_event(
                    "staff_mobile_unblock_refused",
                    staff.ctx,
                    credit_union_id=member.credit_union_id,
                    member_id=member.pk,
                )
            raise CommandError(UNBLOCK_REFUSED)
        staff = cli_staff(options["staff"], permission="act_on_channels")
        member = staff.member(options["login"])
        # Lost phone: the app is BLOCKED (not DISABLED), its sessions end (R-B3).
        block_mobile_channel(member, "lost_phone", staff.ctx)
        state = MobileChannel.objects.get(member=member).state
        self.stdout.write(
            f"Mobile app of {member.full_name} (Login {member.login}): {state}; "
            "open sessions were ended."
        )
