"""What other apps need to know of the access channels (R-O4, R-W2, R-M5): whether a channel is
open for an operation, and what three wrong SMS codes of an operation do in it. The ledger
depends on this module only, never on the channels' services."""

from skarbiec.channels.errors import MobileChannelBlocked, WebChannelBlocked
from skarbiec.channels.lifecycle import block_mobile_channel, web_codes_exhausted
from skarbiec.channels.models import MobileChannel, WebChannel
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError
from skarbiec.members.models import Member

WEB = "web"
MOBILE = "mobile"
CHANNELS = (WEB, MOBILE)


def require_channel_open(member: Member, channel: str) -> None:
    """Refuse an operation in a blocked channel, saying whom to call."""
    if channel == MOBILE:
        blocked = MobileChannel.objects.filter(
            member=member, state=MobileChannel.State.BLOCKED
        ).exists()
        if blocked:
            raise MobileChannelBlocked.of(member.credit_union)
    elif WebChannel.objects.filter(member=member, state=WebChannel.State.BLOCKED).exists():
        raise WebChannelBlocked.of(member.credit_union)


def codes_exhausted(
    member: Member, channel: str, ctx: RequestContext, failed_event: str | None = None
) -> DomainError:
    """R-O4: the third wrong code of an operation. In the app the app is blocked; in the web the
    operation is cancelled and one failure counts toward the web lockout. Runs in the
    transaction of the last wrong code; returns the refusal to show."""
    if channel == MOBILE:
        block_mobile_channel(member, "wrong_codes", ctx)
        return MobileChannelBlocked.of(member.credit_union)
    return web_codes_exhausted(member, failed_event, ctx)
