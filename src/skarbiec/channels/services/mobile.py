"""Mobile channel: the state machine of §5, device binding, PIN and fingerprint login (R-M1–R-M9).

States: DISABLED → PENDING (password defined in the web) → ACTIVE (device bound) → BLOCKED
(failures) → PENDING (web reactivation, the only unblock path); any state → DISABLED.

Failure counters follow the pattern of the web channel: an attempt is counted and committed
*before* the secret is checked and given back on success, so parallel requests can never test
more PINs or passwords than the policy allows (R-X4), and a failure outlives the failed request.
"""

from django.db import transaction

from skarbiec.audit.services import RequestContext, record_event
from skarbiec.channels.models import MobileChannel, MobileSession
from skarbiec.core import clock
from skarbiec.members.models import Member

_BLOCKABLE = (MobileChannel.State.ACTIVE, MobileChannel.State.PENDING)


def _revoke_sessions(member: Member, reason: str) -> int:
    return MobileSession.objects.filter(member=member, revoked_at__isnull=True).update(
        revoked_at=clock.now(), revoke_reason=reason
    )


def block_mobile_channel(member: Member, reason: str, ctx: RequestContext) -> None:
    """ACTIVE/PENDING → BLOCKED; revokes every session. Joins the caller's transaction (e.g.
    three wrong SMS codes authorising an order in the app, R-O4); a no-op in other states."""
    with transaction.atomic():
        channel = MobileChannel.objects.select_for_update().get(member=member)
        if channel.state not in _BLOCKABLE:
            return
        previous = channel.state
        channel.state = MobileChannel.State.BLOCKED
        channel.blocked_at = clock.now()
        channel.block_reason = reason[:32]
        channel.changed_at = channel.blocked_at
        channel.save(update_fields=["state", "blocked_at", "block_reason", "changed_at"])
        revoked = _revoke_sessions(member, "channel_blocked")
        record_event(
            "mobile_channel_blocked",
            ctx,
            credit_union_id=member.credit_union_id,
            member_id=member.pk,
            data={"reason": reason, "from": previous, "sessions_revoked": revoked},
        )
