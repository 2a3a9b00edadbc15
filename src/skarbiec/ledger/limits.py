"""Transfer limits per channel (R-L4): per transaction, daily and monthly, checked under a
lock of the member's limits row. The member lowers them at once; raising needs an SMS code
(a kind of the confirmed-operation registry) and stays within the credit union's maximum.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from skarbiec.audit.services import record_event
from skarbiec.channels.access import codes_exhausted, require_channel_open
from skarbiec.core import clock
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError
from skarbiec.core.locks import for_update
from skarbiec.core.prepared import prepared_rows, prepared_select
from skarbiec.ledger.amounts import format_amount, require_amount
from skarbiec.ledger.errors import (
    InvalidOrderDetails,
    LimitAboveMaximum,
    LimitChangeNotFound,
    LimitExceeded,
)
from skarbiec.ledger.models import (
    CreditUnionLimits,
    LimitChange,
    MemberLimits,
    Order,
)
from skarbiec.ledger.order_input import MOBILE, WEB, require_channel
from skarbiec.members.models import CreditUnion, Member
from skarbiec.otp.models import Confirmation
from skarbiec.otp.operation_channels import open_operation_channels
from skarbiec.otp.operations import (
    OperationKind,
    confirm_code,
    declare_operation,
    lock_members_codes,
    start_confirmation,
)
from skarbiec.otp.reopening import reopened_if_the_database_fails

# Limits per channel when the credit union has not set its own: (maximum, default) for
# per-transaction, daily and monthly, in grosze.
DEFAULT_LIMITS: dict[str, dict[str, tuple[int, int]]] = {
    WEB: {
        "per_transaction": (100_000_00, 20_000_00),
        "daily": (200_000_00, 50_000_00),
        "monthly": (500_000_00, 200_000_00),
    },
    MOBILE: {
        "per_transaction": (20_000_00, 5_000_00),
        "daily": (50_000_00, 10_000_00),
        "monthly": (100_000_00, 50_000_00),
    },
}


def credit_union_limits(credit_union: CreditUnion, channel: str) -> CreditUnionLimits:
    require_channel(channel)
    d = DEFAULT_LIMITS[channel]
    limits, _created = CreditUnionLimits.objects.get_or_create(
        credit_union=credit_union,
        channel=channel,
        defaults={
            "max_per_transaction_minor": d["per_transaction"][0],
            "max_daily_minor": d["daily"][0],
            "max_monthly_minor": d["monthly"][0],
            "default_per_transaction_minor": d["per_transaction"][1],
            "default_daily_minor": d["daily"][1],
            "default_monthly_minor": d["monthly"][1],
        },
    )
    return limits


def member_limits(member: Member, channel: str) -> MemberLimits:
    require_channel(channel)
    found = MemberLimits.objects.filter(member=member, channel=channel).first()
    if found:
        return found
    cu = credit_union_limits(member.credit_union, channel)
    try:
        with transaction.atomic():
            return MemberLimits.objects.create(
                member=member,
                channel=channel,
                per_transaction_minor=cu.default_per_transaction_minor,
                daily_minor=cu.default_daily_minor,
                monthly_minor=cu.default_monthly_minor,
                changed_at=clock.now(),
            )
    except IntegrityError:
        return MemberLimits.objects.get(member=member, channel=channel)


@dataclass(frozen=True)
class LimitUsage:
    channel: str
    per_transaction_minor: int
    daily_minor: int
    monthly_minor: int
    used_today_minor: int
    used_this_month_minor: int
    max_per_transaction_minor: int
    max_daily_minor: int
    max_monthly_minor: int


def _period_starts(now: datetime) -> tuple[datetime, datetime]:
    local = timezone.localtime(now)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return day, day.replace(day=1)


@prepared_rows
def _used_since(
    member_id: int, channel: str, since: datetime, day: datetime, month: datetime
) -> "QuerySet[Any, tuple[Any, Any]]":
    # Prepared (core/prepared.py): every order that counts against the limits sums these.
    counted = Order.objects.filter(
        member_id=member_id,
        channel=channel,
        state__in=Order.COUNTED_STATES,
        authorized_at__gte=since,
    ).exclude(kind=Order.Kind.OWN)
    return (
        counted.values("member_id")
        .annotate(
            day=Sum("amount_minor", filter=Q(authorized_at__gte=day)),
            month=Sum("amount_minor", filter=Q(authorized_at__gte=month)),
        )
        .values_list("day", "month")
    )


def _used_in_periods(
    member: Member, channel: str, day: datetime, month: datetime
) -> tuple[int, int]:
    """(used since `day`, used since `month`) in one statement."""
    rows = _used_since.all(
        member_id=member.pk, channel=channel, since=min(day, month), day=day, month=month
    )
    if not rows:
        return 0, 0
    [(used_today, used_this_month)] = rows
    return int(used_today or 0), int(used_this_month or 0)


def limit_usage(member: Member, channel: str) -> LimitUsage:
    """What the member sees in Settings → Limits: own limits, used amounts, the maximum."""
    limits = member_limits(member, channel)
    cu = credit_union_limits(member.credit_union, channel)
    day, month = _period_starts(clock.now())
    used_today, used_this_month = _used_in_periods(member, channel, day, month)
    return LimitUsage(
        channel=channel,
        per_transaction_minor=limits.per_transaction_minor,
        daily_minor=limits.daily_minor,
        monthly_minor=limits.monthly_minor,
        used_today_minor=used_today,
        used_this_month_minor=used_this_month,
        max_per_transaction_minor=cu.max_per_transaction_minor,
        max_daily_minor=cu.max_daily_minor,
        max_monthly_minor=cu.max_monthly_minor,
    )


@prepared_select
def _limits_locked(member_id: int, channel: str) -> QuerySet[MemberLimits]:
    # Prepared (core/prepared.py): locked by every order that counts against the limits.
    return for_update(MemberLimits.objects).filter(member_id=member_id, channel=channel)


def locked_member_limits(member: Member, channel: str) -> MemberLimits:
    """The member's limits in a channel, locked (the policy's defaults stored once first)."""
    found = _limits_locked.first(member_id=member.pk, channel=channel)
    if found is None:
        member_limits(member, channel)
        found = _limits_locked.first(member_id=member.pk, channel=channel)
    assert found is not None
    return found


def check_limits(member: Member, channel: str, amount_minor: int, lock: bool) -> datetime:
    """Refuse an amount over the member's limits in this channel; the moment checked, which
    under the lock is the order's time of authorization: read after the lock is taken, so an
    order that waited for another past midnight counts on the day it was checked against
    (R-L4)."""
    if lock:
        # The row lock serialises the member's orders in this channel (R-X4).
        limits = locked_member_limits(member, channel)
    else:
        limits = member_limits(member, channel)
    if amount_minor > limits.per_transaction_minor:
        raise LimitExceeded(
            _("The amount is above your per-transaction limit of %(limit)s.")
            % {"limit": format_amount(limits.per_transaction_minor)},
            limit="per_transaction",
        )
    now = clock.now()
    day, month = _period_starts(now)
    used_today, used_this_month = _used_in_periods(member, channel, day, month)
    if used_today + amount_minor > limits.daily_minor:
        raise LimitExceeded(
            _("The transfer would exceed your daily limit of %(limit)s.")
            % {"limit": format_amount(limits.daily_minor)},
            limit="daily",
        )
    if used_this_month + amount_minor > limits.monthly_minor:
        raise LimitExceeded(
            _("The transfer would exceed your monthly limit of %(limit)s.")
            % {"limit": format_amount(limits.monthly_minor)},
            limit="monthly",
        )
    return now


def _limits_sms(member: Member, details: dict[str, Any], code: str) -> str:
    lang = member.language
    return _(
        "%(cu)s: code %(code)s raises your %(channel)s limits to %(tx)s per transfer, %(day)s a "
        "day, %(month)s a month. Do not give the code to anyone."
    ) % {
        "cu": member.credit_union.name,
        "code": code,
        "channel": _("internet service") if details["channel"] == WEB else _("mobile app"),
        "tx": format_amount(details["per_transaction"], lang),
        "day": format_amount(details["daily"], lang),
        "month": format_amount(details["monthly"], lang),
    }


def _limit_codes_exhausted(confirmation: Confirmation, ctx: RequestContext) -> DomainError:
    LimitChange.objects.filter(
        pk=int(confirmation.subject), state=LimitChange.State.PENDING
    ).update(state=LimitChange.State.VOIDED)
    return codes_exhausted(confirmation.member, confirmation.channel, ctx)


RAISE_LIMITS = declare_operation(
    OperationKind("raise_limits", _limits_sms, _limit_codes_exhausted, LimitChangeNotFound)
)


def _limit_details(change: LimitChange) -> dict[str, Any]:
    return {
        "change": change.pk,
        "channel": change.channel,
        "per_transaction": change.per_transaction_minor,
        "daily": change.daily_minor,
        "monthly": change.monthly_minor,
    }


def _apply_limits(
    member: Member, change: LimitChange, limits: MemberLimits, ctx: RequestContext
) -> MemberLimits:
    """`change` into `limits`, the channel's limits the caller locked."""
    limits.per_transaction_minor = change.per_transaction_minor
    limits.daily_minor = change.daily_minor
    limits.monthly_minor = change.monthly_minor
    limits.changed_at = clock.now()
    limits.save()
    change.state = LimitChange.State.APPLIED
    change.save(update_fields=["state"])
    record_event(
        "limits_changed",
        ctx,
        credit_union_id=member.credit_union_id,
        member_id=member.pk,
        data=_limit_details(change),
    )
    return limits


def change_limits(
    member: Member,
    channel: str,
    per_transaction_minor: int,
    daily_minor: int,
    monthly_minor: int,
    ctx: RequestContext,
) -> LimitChange:
    """Set a channel's limits. All lower or equal → applied at once (state APPLIED); any raise
    → PENDING with an SMS code (`otp_id`), to be finished by confirm_limit_change."""
    require_channel(channel)
    values = [require_amount(v) for v in (per_transaction_minor, daily_minor, monthly_minor)]
    if not values[0] <= values[1] <= values[2]:
        raise InvalidOrderDetails(
            _("The per-transaction limit may not exceed the daily one, nor the daily the monthly.")
        )
    maximum = credit_union_limits(member.credit_union, channel)
    with transaction.atomic():
        # The member first, as a wrong code's settlement that voids a raise waiting (R-X7);
        # then the raises waiting, then the limits, as confirming a raise locks them.
        lock_members_codes(member)
        LimitChange.objects.filter(
            member=member, channel=channel, state=LimitChange.State.PENDING
        ).update(state=LimitChange.State.VOIDED)
        # A raise is judged against the limits under their lock: judged against a reading of
        # before, the old limits sent again while a lowering committed were applied without a
        # code, undoing the member's lowering (R-L4).
        current = locked_member_limits(member, channel)
        raised = (
            values[0] > current.per_transaction_minor
            or values[1] > current.daily_minor
            or values[2] > current.monthly_minor
        )
        if raised and (
            values[0] > maximum.max_per_transaction_minor
            or values[1] > maximum.max_daily_minor
            or values[2] > maximum.max_monthly_minor
        ):
            raise LimitAboveMaximum(
                max_per_transaction_minor=maximum.max_per_transaction_minor,
                max_daily_minor=maximum.max_daily_minor,
                max_monthly_minor=maximum.max_monthly_minor,
            )
        change = LimitChange.objects.create(
            member=member,
            channel=channel,
            per_transaction_minor=values[0],
            daily_minor=values[1],
            monthly_minor=values[2],
            created_at=clock.now(),
        )
        if not raised:
            _apply_limits(member, change, current, ctx)
        else:
            confirmation = start_confirmation(
                RAISE_LIMITS,
                member,
                details=_limit_details(change),
                # Where the member raises them (the web may raise the app's limits): its codes
                # and their consequence are that channel's (R-O4).
                channel=ctx.channel or channel,
                ctx=ctx,
                subject=str(change.pk),
            )
            change.otp_id = confirmation.pk
            change.save(update_fields=["otp_id"])
    return change


@dataclass(frozen=True)
class RaiseAwaitingCode:
    """A raise of limits waiting for its SMS code."""

    change: LimitChange
    #: The channel the raise was started in (not always the channel of the limits: the web
    #: raises the app's too): its code is entered there only (R-O4,
    #: `skarbiec.otp.operation_channels.takes_codes_in`).
    code_channel: str


def raises_awaiting_code(
    member: Member, *, channel: str | None = None, change_id: int | None = None
) -> list[RaiseAwaitingCode]:
    """The member's raises of limits (of `channel`'s limits, or the one of `change_id`) that
    wait for their SMS code, each with the channel the code is entered in; at most one per
    channel of limits (a new raise voids the one before)."""
    channels = open_operation_channels(member, kind=RAISE_LIMITS)
    changes = LimitChange.objects.filter(
        member=member, state=LimitChange.State.PENDING, otp_id__in=list(channels)
    )
    if channel is not None:
        changes = changes.filter(channel=channel)
    if change_id is not None:
        changes = changes.filter(pk=change_id)
    return [
        RaiseAwaitingCode(change, channels[change.otp_id])
        for change in changes.order_by("pk")
        if change.otp_id is not None
    ]


def confirm_limit_change(
    member: Member, change_id: int, code: str, ctx: RequestContext
) -> MemberLimits:
    """Apply a raise of limits with its SMS code; three wrong codes count as in R-O4."""
    change = LimitChange.objects.filter(
        pk=change_id, member=member, state=LimitChange.State.PENDING
    ).first()
    if change is None:
        raise LimitChangeNotFound()
    require_channel_open(member, change.channel)
    confirm_code(RAISE_LIMITS, change.otp_id or 0, member, _limit_details(change), code, ctx)
    with (
        reopened_if_the_database_fails(RAISE_LIMITS, change.otp_id or 0, member),
        transaction.atomic(),
    ):
        # One order of locks with asking for limits: the member, the raise, the limits.
        lock_members_codes(member)
        change = for_update(LimitChange.objects).get(pk=change.pk)
        if change.state != LimitChange.State.PENDING:
            raise LimitChangeNotFound()
        maximum = credit_union_limits(member.credit_union, change.channel)
        if (
            change.per_transaction_minor > maximum.max_per_transaction_minor
            or change.daily_minor > maximum.max_daily_minor
            or change.monthly_minor > maximum.max_monthly_minor
        ):
            raise LimitAboveMaximum()
        return _apply_limits(member, change, locked_member_limits(member, change.channel), ctx)
