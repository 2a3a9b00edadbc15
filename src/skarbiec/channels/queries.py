"""What the pages and the API show of a member's channels (R-W4, R-W6)."""

from dataclasses import dataclass
from datetime import datetime

from skarbiec.channels.mobile.sessions import MobileSessionInfo
from skarbiec.channels.mobile.state import ACTIVATED_STATES
from skarbiec.channels.models import (
    MobileChannel,
    MobileDevice,
)
from skarbiec.members.models import Member


@dataclass(frozen=True)
class DeviceOverview:
    device_id: str
    name: str
    platform: str
    os_version: str
    app_version: str
    activated_at: datetime
    last_used_at: datetime | None
    fingerprint_enabled: bool


@dataclass(frozen=True)
class MobileChannelOverview:
    """What Settings → Access channels / Devices show (R-W4, R-W6)."""

    state: str
    offered: bool
    device: DeviceOverview | None
    blocked_at: datetime | None
    can_activate_channel: bool  # R-W4: DISABLED → PENDING
    can_reactivate_app: bool  # R-W5: blocked, or no device
    can_deactivate: bool


def mobile_channel_overview(member: Member) -> MobileChannelOverview:
    channel = MobileChannel.objects.get(member=member)
    device = (
        MobileDevice.objects.filter(member=member, state=MobileDevice.State.ACTIVE)
        .order_by("-activated_at")
        .first()
    )
    offered = member.credit_union.offers_mobile_app
    overview = None
    if device is not None:
        overview = DeviceOverview(
            device_id=device.device_id,
            name=device.name,
            platform=device.platform,
            os_version=device.os_version,
            app_version=device.app_version,
            activated_at=device.activated_at,
            last_used_at=device.last_used_at,
            fingerprint_enabled=device.credentials.exists(),
        )
    state = MobileChannel.State(channel.state)
    return MobileChannelOverview(
        state=state.value,
        offered=offered,
        device=overview,
        blocked_at=channel.blocked_at,
        can_activate_channel=offered and state == MobileChannel.State.DISABLED,
        can_reactivate_app=offered
        and (
            state == MobileChannel.State.BLOCKED or (state in ACTIVATED_STATES and device is None)
        ),
        can_deactivate=state != MobileChannel.State.DISABLED,
    )


@dataclass(frozen=True)
class MemberSummary:
    first_name: str
    last_name: str
    credit_union: str
    channel_state: str
    device_id: str
    idle_expires_at: datetime


def mobile_member_summary(session: MobileSessionInfo) -> MemberSummary:
    member = session.member
    return MemberSummary(
        first_name=member.first_name,
        last_name=member.last_name,
        credit_union=member.credit_union.name,
        channel_state=MobileChannel.objects.get(member=member).state,
        device_id=session.device.device_id,
        idle_expires_at=session.idle_expires_at,
    )
