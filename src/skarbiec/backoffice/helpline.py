"""The helpline (R-B3): find a member, see their channels, device, security events and pending
orders, and act at the member's request on the phone.

Every member is reached through `scope.member_of` (R-B6). Channel changes are the transitions of
`channels/lifecycle.py`; the audit names the staff member through the request context (R-B5).
Staff can never unblock the mobile app: there is no service for it, and an attempt is refused
and audited (`refuse_mobile_unblock`).
"""

import re
from dataclasses import dataclass

from django.db.models import Q

from skarbiec.audit.models import AuditEvent
from skarbiec.audit.services import record_event
from skarbiec.backoffice.errors import MobileUnblockRefused
from skarbiec.backoffice.scope import audit_events_of, member_of, members_of
from skarbiec.channels.lifecycle import (
    block_mobile_channel,
    block_web_channel_on_request,
    lift_web_block_on_request,
    renew_temporary_password,
    unblock_web_channel,
)
from skarbiec.channels.models import WebChannel
from skarbiec.channels.queries import MobileChannelOverview, mobile_channel_overview
from skarbiec.core import clock
from skarbiec.core.context import RequestContext
from skarbiec.ledger.models import Account, Order
from skarbiec.members.models import Member, StaffProfile
from skarbiec.members.passwords import temporary_password_expired

SEARCH_LIMIT = 50
#: Staff reading members' data (R-B5: who looked at whom). Not shown among a member's last
#: events on the helpline page, which they would crowd out.
STAFF_READ_EVENTS = (
    "members_searched",
    "member_viewed",
    "audit_viewed",
    "audit_exported",
    "account_balance_viewed",
)
PENDING_ORDER_STATES = (
    Order.State.AWAITING_AUTHORIZATION,
    Order.State.PENDING,
    Order.State.SENT,
)


def search_members(staff: StaffProfile, query: str, ctx: RequestContext) -> list[Member]:
    """By Login, PESEL, phone (any common spelling) or name; only the staff member's own credit
    union (R-B6). The audit log records whom the search showed, not what was typed: a PESEL
    searched for is not kept there (R-B5)."""
    query = " ".join((query or "").split())[:100]
    if len(query) < 2:
        return []
    digits = re.sub(r"[\s\-()+]", "", query)
    condition = Q()
    if digits.isdigit():
        condition |= Q(login=digits) | Q(pesel=digits) | Q(phone__endswith=digits[-9:])
    words = query.split(" ")
    name = Q()
    for word in words:
        name &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
    condition |= name
    found = list(
        members_of(staff).filter(condition).order_by("last_name", "first_name", "pk")[:SEARCH_LIMIT]
    )
    # Filed under the member when the search showed one (a Login, PESEL or phone mostly does),
    # in their credit union's log (an installation administrator has none of their own), so
    # filtering the log by member shows who found them.
    [one] = found if len(found) == 1 else [None]
    record_event(
        "members_searched",
        ctx,
        credit_union_id=one.credit_union_id if one else staff.credit_union_id,
        member_id=one.pk if one else None,
        data={"by": "number" if digits.isdigit() else "name", "shown": [m.pk for m in found]},
    )
    return found


@dataclass(frozen=True)
class MemberOverview:
    member: Member
    web_state: str
    web_block_reason: str
    web_blocked_on_request: bool
    web_last_login_at: object
    # The member still holds only a temporary password, and it expired (R-W1).
    temporary_password_expired: bool
    mobile: MobileChannelOverview
    accounts: list[Account]
    # Balances are for the staff who pay cash in and out; the helpline needs the accounts'
    # names and numbers, not what is on them (banking secrecy: need to know).
    shows_balances: bool
    pending_orders: list[Order]
    events: list[AuditEvent]


def member_overview(staff: StaffProfile, member_id: object, ctx: RequestContext) -> MemberOverview:
    """The helpline's page of one member; opening it is recorded (R-B5)."""
    member = member_of(staff, member_id)
    record_event("member_viewed", ctx, credit_union_id=member.credit_union_id, member_id=member.pk)
    web = WebChannel.objects.get(member=member)
    return MemberOverview(
        member=member,
        web_state=web.state,
        web_block_reason=web.block_reason,
        web_blocked_on_request=web.state == WebChannel.State.BLOCKED
        and web.block_reason == "member_request",
        web_last_login_at=web.last_login_at,
        temporary_password_expired=temporary_password_expired(member, clock.now()),
        mobile=mobile_channel_overview(member),
        accounts=list(Account.objects.filter(member=member).order_by("kind", "pk")),
        shows_balances=staff.user.has_perm("members.handle_cash"),
        pending_orders=list(
            Order.objects.filter(member=member, state__in=PENDING_ORDER_STATES).order_by("-pk")[:20]
        ),
        events=list(
            audit_events_of(staff)
            .filter(member_id=member.pk)
            .exclude(event__in=STAFF_READ_EVENTS)
            .order_by("-pk")[:20]
        ),
    )


def block_web(staff: StaffProfile, member_id: object, ctx: RequestContext) -> bool:
    """At the member's request (lost password): the internet service is blocked and its
    sessions end. False when it was blocked already."""
    return block_web_channel_on_request(member_of(staff, member_id), ctx)


def block_mobile(staff: StaffProfile, member_id: object, ctx: RequestContext) -> None:
    """Lost phone: the app becomes BLOCKED and its sessions end; only the member unblocks it,
    in the internet service (R-W5)."""
    block_mobile_channel(member_of(staff, member_id), "lost_phone", ctx)


def unblock_web(staff: StaffProfile, member_id: object, ctx: RequestContext) -> Member:
    """A new temporary password by SMS; refused with an explanation when not blocked."""
    member = member_of(staff, member_id)
    unblock_web_channel(member, ctx)
    return member


def renew_temporary(staff: StaffProfile, member_id: object, ctx: RequestContext) -> Member:
    """A new temporary password by SMS for a member who has not set their own yet (it expired,
    or its SMS never came); refused with an explanation otherwise."""
    member = member_of(staff, member_id)
    renew_temporary_password(member, ctx)
    return member


def lift_own_block(staff: StaffProfile, member_id: object, ctx: RequestContext) -> None:
    """Lift a block the member asked for themselves; their password stays."""
    lift_web_block_on_request(member_of(staff, member_id), ctx)


def refuse_mobile_unblock(staff: StaffProfile, member_id: object, ctx: RequestContext) -> None:
    """No staff member unblocks the mobile app [seed]; a (forged) request for it is audited."""
    member = member_of(staff, member_id)
    record_event(
        "staff_mobile_unblock_refused",
        ctx,
        credit_union_id=member.credit_union_id,
        member_id=member.pk,
    )
    raise MobileUnblockRefused()
