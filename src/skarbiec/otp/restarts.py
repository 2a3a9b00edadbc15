"""An operation confirmed by an SMS code started again (R-X7): what it takes over from the
one it replaces, so starting over buys neither a fresh three wrong codes nor fresh resends."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Greatest

from skarbiec.core import clock
from skarbiec.core.attempt_counts import in_flight_now, settled_failures
from skarbiec.core.locks import for_update
from skarbiec.core.prepared import prepared_select
from skarbiec.members.models import Member
from skarbiec.otp.errors import CodeBeingChecked, OtpSendingLimited
from skarbiec.otp.giving_up import withdraw_replaced_codes
from skarbiec.otp.models import Confirmation


def codes_per_operation() -> int:
    """The first code and at most three resends per operation (R-X7)."""
    return int(settings.OTP_CODES_PER_OPERATION)


# An operation started again within this time of the last one of its kind and subject (a web
# login begun anew after two wrong codes) is the same operation to the budget: it keeps the
# wrong codes, so starting over never buys a fresh three (R-X7; PSD2 RTS art. 4(3)(b)).
WRONG_CODES_KEPT_FOR = timedelta(minutes=10)


@prepared_select
def _recent_operations_locked(
    member_id: int, kind: str, channel: str, since: datetime, sent_since: datetime
) -> QuerySet[Confirmation]:
    # Active within the window: begun, a code counted, or a code (re)sent in it, whose expiry
    # is then later than `sent_since` (the window's start plus the code's lifetime). A resend
    # keeps an old operation in use: its wrong codes must not drop out when it is replaced.
    # Locked: a wrong code being counted on one commits before its count is read here, or
    # finds it voided and counts nothing. Few rows: the send budget bounds them.
    return (
        for_update(Confirmation.objects)
        .filter(
            Q(created_at__gt=since)
            | Q(failed_codes_counted_at__gt=since)
            | Q(code_expires_at__gt=sent_since),
            member_id=member_id,
            kind=kind,
            channel=channel,
        )
        .order_by("-pk")
        .only(
            "state",
            "failed_codes",
            "failed_codes_in_flight",
            "failed_codes_counted_at",
            "codes_sent",
            "code_expires_at",
            "created_at",
            "subject",
        )
    )


def _last_active(operation: Confirmation, code_lifetime: timedelta) -> datetime:
    """When the operation was last begun, had a code counted or a code sent."""
    return max(
        operation.created_at,
        operation.failed_codes_counted_at or operation.created_at,
        operation.code_expires_at - code_lifetime,
    )


def _since_last_confirmed(recent: list[Confirmation]) -> list[Confirmation]:
    """The open and voided ones, newest first, begun after the newest confirmed or exhausted
    one: a right code ends the count, and an exhausted one's consequence already ran."""
    found = []
    for operation in recent:
        if operation.state not in (Confirmation.State.OPEN, Confirmation.State.VOIDED):
            break
        found.append(operation)
    return found


@dataclass(frozen=True)
class CarriedOver:
    """What an operation started again takes over from the one it replaces (R-X7)."""

    wrong_codes: int = 0
    codes_sent: int = 0
    #: The operation whose codes sent were carried, if any.
    codes_from: int | None = None


def carried_over(
    member: Member, kind: str, subject: str, side_by_side: bool, channel: str, now: datetime
) -> CarriedOver:
    """What an operation starts with (R-X7), from the member's operations of its kind active
    (begun, a code counted or sent) within WRONG_CODES_KEPT_FOR since the newest one confirmed
    (a right code ends the count) or exhausted (its consequence already ran), in its channel:
    each channel bears its own three wrong codes (R-O4: the app is blocked by three entered in
    the app, a web operation cancelled by three entered in the web), as the operations waiting
    side by side share theirs only within a channel;
    - the most wrong codes any of them holds, whatever its subject: a transfer, a payee or a
      raise of limits sent again is a new row each time, and starting over must never buy a
      fresh three, not even after another operation of the kind begun (and cancelled) meanwhile;
    - the newest one's codes sent, if it is still open, unless the kind's operations wait
      `side_by_side` (transfers) and this one is of another subject: a login begun again, a
      payee added or trusted again, a raise asked again is the same operation to the limit of
      resends, and once its codes are all sent starting again is refused until the replaced
      one was last active WRONG_CODES_KEPT_FOR ago."""
    code_lifetime = timedelta(seconds=member.credit_union.otp_ttl_seconds)
    since = now - WRONG_CODES_KEPT_FOR
    recent = _since_last_confirmed(
        _recent_operations_locked.all(
            member_id=member.pk,
            kind=kind,
            channel=channel,
            since=since,
            sent_since=since + code_lifetime,
        )
    )
    if not recent:
        return CarriedOver()
    newest = recent[0]
    if any(in_flight_now(operation, "failed_codes") for operation in recent):
        # A code of one of them is being compared: a wrong one would raise the count carried
        # after it is read here, and the one voided now would take it without its
        # consequence; a right one would be counted here as wrong.
        raise CodeBeingChecked()
    # Codes sent carry over from an open one only: one closed by the member or by staff (a
    # cancel, the helpline's unblock) leaves a fresh start its own codes.
    started_again = newest.state == Confirmation.State.OPEN and (
        newest.subject == subject or not side_by_side
    )
    codes_sent = newest.codes_sent if started_again else 0
    if codes_sent >= codes_per_operation() and withdraw_replaced_codes(member, newest.pk):
        # Codes the provider never took (it is down) are not codes the member was sent.
        newest.refresh_from_db(fields=["codes_sent"])
        codes_sent = newest.codes_sent
    if codes_sent >= codes_per_operation():
        frees_at = _last_active(newest, code_lifetime) + WRONG_CODES_KEPT_FOR
        raise OtpSendingLimited(retry_after=max(math.ceil((frees_at - now).total_seconds()), 1))
    # Settled ones only: an attempt lost before settling is no wrong code (R-X6).
    wrong = max(settled_failures(operation, "failed_codes") for operation in recent)
    return CarriedOver(wrong, codes_sent, newest.pk if codes_sent else None)


def share_wrong_codes(operation: Confirmation, wrong: int) -> None:
    """A wrong code settled on `operation`, which now holds `wrong` settled wrong codes: the
    member's other operations of its kind waiting in its channel hold at least as many (R-X7,
    R-O4). Several transfers or payees begun before any code was entered would otherwise each
    have three of their own, and the app would never block however many codes were guessed.
    Runs in the wrong code's settlement, under its operation's lock; attempts in flight on the
    others keep their places on top."""
    _waiting_beside(operation).update(
        failed_codes=Greatest(F("failed_codes") - F("failed_codes_in_flight"), Value(wrong))
        + F("failed_codes_in_flight")
    )


def _waiting_beside(operation: Confirmation) -> QuerySet[Confirmation]:
    """The member's other operations of its kind waiting in its channel: one budget of wrong
    codes with it (R-X7)."""
    return Confirmation.objects.filter(
        member_id=operation.member_id,
        kind=operation.kind,
        channel=operation.channel,
        state=Confirmation.State.OPEN,
    ).exclude(pk=operation.pk)


def others_in_flight(operation: Confirmation) -> int:
    """Codes being compared right now on the operations waiting beside `operation`. Read under
    the member's lock (`lock_members_codes`), which every count and settlement takes first."""
    return sum(
        in_flight_now(other, "failed_codes")
        for other in _waiting_beside(operation).only(
            "failed_codes", "failed_codes_in_flight", "failed_codes_counted_at"
        )
    )


def close_the_others_waiting(operation: Confirmation) -> list[Confirmation]:
    """`operation`'s wrong codes used up the budget it shared: the ones waiting beside it take
    no more codes; returned, for their kind to end what they wait for. EXHAUSTED like it, not
    VOIDED: the consequence of the wrong codes they hold has run, so an operation begun next
    must not take them over (`carried_over` stops at an exhausted one, R-X7)."""
    closed = list(for_update(_waiting_beside(operation)).order_by("pk"))
    now = clock.now()
    for other in closed:
        other.state, other.closed_at = Confirmation.State.EXHAUSTED, now
    Confirmation.objects.filter(pk__in=[o.pk for o in closed]).update(
        state=Confirmation.State.EXHAUSTED, closed_at=now
    )
    return closed
