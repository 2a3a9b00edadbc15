"""The mobile channel as every flow of the app reads it: the row lock, the states in which
it counts as activated, whether it may be used, rate limits, and its audit events (SPEC §5).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings

from skarbiec.audit.services import record_event
from skarbiec.channels.errors import (
    ChallengeInvalid,
    MobileChannelBlocked,
    MobileChannelDisabled,
    MobileNotOffered,
    SignatureInvalid,
    UnknownDevice,
)
from skarbiec.channels.mobile.challenges import is_bound_device
from skarbiec.channels.models import (
    MobileChannel,
    MobileDevice,
)
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import InvalidInput
from skarbiec.core.locks import for_update
from skarbiec.core.throttling import (
    address_failures_limited,
    consume_rate_limit,
)
from skarbiec.members.models import Member
from skarbiec.otp.operations import lock_members_codes

ACTIVATED_STATES = (MobileChannel.State.ACTIVE, MobileChannel.State.PENDING)


def record_member_event(event: str, member: Member, ctx: RequestContext, **data: Any) -> None:
    record_event(
        event, ctx, credit_union_id=member.credit_union_id, member_id=member.pk, data=data or None
    )


def lock_mobile_channel(member: Member) -> MobileChannel:
    # Only the channel row is locked (of=self), not the member or credit union it is read with.
    return (
        for_update(MobileChannel.objects).select_related("member__credit_union").get(member=member)
    )


def lock_member_and_mobile_channel(member: Member) -> MobileChannel:
    """The member's row, then the app's channel: the order of every flow that writes the
    member's operations under the channel, as a wrong code's settlement that blocks the app
    takes them (`otp/send_budget.lock_members_codes`, R-X7). PIN and fingerprint attempts,
    which write neither, lock the channel alone."""
    lock_members_codes(member)
    return lock_mobile_channel(member)


def has_bound_device(member: Member) -> bool:
    return MobileDevice.objects.filter(member=member, state=MobileDevice.State.ACTIVE).exists()


# Refusals of a request that did not prove it comes from a bound device.
_NOT_FROM_A_BOUND_DEVICE = (UnknownDevice, ChallengeInvalid, SignatureInvalid, InvalidInput)


@contextmanager
def device_rate_limits(
    scope: str, subject: str, ctx: RequestContext, signed: bool = False
) -> Iterator[None]:
    """Every attempt counts per Login or device; per address only failures do (R-X10). A
    request `signed` by a bound device's key is served even when its address is over the
    limit (members behind one carrier address), unless it names no bound device or fails its
    proof; anonymous and unsigned ones (activation, options) are refused there. A signed
    request counts against its device only once its signature proved it
    (`challenges.verify_device_request`): until then it is anyone's, and only its address
    counts it if it fails."""
    per_addr, window_a = settings.RATE_LIMIT_PER_ADDRESS
    per_subject, window_s = settings.RATE_LIMIT_PER_LOGIN
    unproven = _NOT_FROM_A_BOUND_DEVICE if signed else None
    with address_failures_limited(
        "mobile-addr", ctx.ip_address, per_addr, window_a, unproven
    ) as over_limit:
        # Junk from an address over its limit is refused by one read, before it costs a
        # per-device counter of its own.
        if over_limit and not is_bound_device(subject):
            raise UnknownDevice()
        if not signed:
            consume_rate_limit(f"mobile-{scope}", subject or "-", per_subject, window_s)
        yield


def require_usable_channel(member: Member) -> MobileChannel:
    policy = member.credit_union
    if not policy.offers_mobile_app:
        raise MobileNotOffered()
    # Read with the device (`active_device`) when a device asks: no statement of its own.
    channel: MobileChannel = member.mobile_channel
    if channel.state == MobileChannel.State.BLOCKED:
        raise MobileChannelBlocked.of(policy)
    if channel.state == MobileChannel.State.DISABLED:
        raise MobileChannelDisabled()
    return channel
