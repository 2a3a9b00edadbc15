"""Operations confirmed by an SMS code: one registry, one budget of wrong codes (R-O1–R-O4, R-X7).

Every kind of operation that needs a code is an `OperationKind`, declared once by the app that
owns the operation, with what its SMS says (R-O2) and what three wrong codes do (R-O4):

- web_login, web_password_change (channels.web.login, channels.web.password): the operation is
  cancelled and one failure counts toward the web lockout;
- mobile_channel_activation, mobile_app_reactivation (channels.mobile.app_password, web pages): the
  same;
- mobile_device_activation (channels.mobile.activation, in the app): cancelled, the app blocked;
- transfer, trusted_payee, raise_limits (ledger.order_authorization, ledger.payees,
  ledger.limits): cancelled, and the rule of the channel it came from (web: a failure toward
  the lockout; app: the app blocked).

One operation is one `Confirmation` row. `start_confirmation` sends the first code,
`resend_code` replaces the code *in the same row* (so wrong codes before a resend still count:
three in total per operation, R-X7) and `confirm_code` checks a code through the attempts
mechanism (count, commit, compare, settle; `skarbiec.core.attempts`). Codes are sent within the
member's budget (OTP_SEND_LIMIT, sized for the longest documented story) and each operation's
code is resent at most codes_per_operation() - 1 times; both refusals say how long to wait
and never count as a failed attempt.
"""

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from skarbiec.audit.services import record_event
from skarbiec.core import clock
from skarbiec.core.attempt_counts import settled_failures
from skarbiec.core.attempts import Counter, DigestGuess, check_secret
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError, InvalidInput
from skarbiec.core.keys import keyed_hash
from skarbiec.core.locks import for_update
from skarbiec.core.prepared import (
    Update,
    insert_new,
    prepared_update,
)
from skarbiec.members.models import Member
from skarbiec.otp.errors import (
    OperationOfOtherChannel,
    OtpAttemptsExhausted,
    OtpExpired,
    OtpInvalid,
    OtpResendLimited,
)
from skarbiec.otp.giving_up import withdraw_replaced_codes
from skarbiec.otp.member_lock import lock_members_codes
from skarbiec.otp.models import Confirmation
from skarbiec.otp.operation_channels import takes_codes_in
from skarbiec.otp.restarts import (
    carried_over,
    close_the_others_waiting,
    codes_per_operation,
    others_in_flight,
    share_wrong_codes,
)
from skarbiec.otp.send_budget import spend_send_budget
from skarbiec.otp.sms import queue_sms

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OperationKind:
    """What the registry knows of one kind of confirmed operation."""

    name: str
    #: The SMS naming the operation and its details (R-O2): (member, details, code) -> text.
    #: Runs in the member's language.
    sms_text: Callable[[Member, dict[str, Any], str], str]
    #: R-O4: runs in the transaction of the last wrong code (so it cannot be lost) and returns
    #: the refusal the member sees.
    on_codes_exhausted: Callable[[Confirmation, RequestContext], DomainError]
    #: The answer to any code once the operation is closed (confirmed, cancelled, voided).
    closed: Callable[[], DomainError] = field(default=OtpExpired)
    #: Operations of this kind wait for their codes side by side, each its own (transfers
    #: awaiting authorization); otherwise a new one replaces the last (`otp/restarts.py`).
    side_by_side: bool = False
    #: What happens to an operation closed because the one beside it used up their shared
    #: budget of wrong codes (R-X7), in the same transaction; the channel's consequence runs
    #: once, with `on_codes_exhausted`. None: the subject stays as it is.
    on_closed_beside: Callable[[Confirmation, RequestContext], None] | None = None


_KINDS: dict[str, OperationKind] = {}


def declare_operation(kind: OperationKind) -> OperationKind:
    if kind.name in _KINDS and _KINDS[kind.name] is not kind:
        raise RuntimeError(f"operation kind {kind.name!r} declared twice")
    _KINDS[kind.name] = kind
    return kind


def declared_operations() -> dict[str, OperationKind]:
    return dict(_KINDS)


def operation_digest(kind: str, details: dict[str, Any]) -> str:
    canonical = json.dumps(details, sort_keys=True, separators=(",", ":"), default=str)
    return keyed_hash("otp-details", kind, canonical)


def _code_hash(confirmation_id: int, code: str, digest: str) -> str:
    return keyed_hash("otp-code", str(confirmation_id), code, digest)


def _new_code(member: Member) -> str:
    digits = member.credit_union.otp_digits
    return f"{secrets.randbelow(10**digits):0{digits}d}"


@prepared_update
def _void_open_operations(member_id: int, kind: str, subject: str, now: datetime) -> Update:
    open_ones = Confirmation.objects.filter(
        member_id=member_id, kind=kind, subject=subject, state=Confirmation.State.OPEN
    )
    return open_ones, {"state": Confirmation.State.VOIDED, "closed_at": now}


@prepared_update
def _store_code_hash(confirmation_id: int, code_hash: str) -> Update:
    return Confirmation.objects.filter(pk=confirmation_id), {"code_hash": code_hash}


def _send(kind: OperationKind, confirmation: Confirmation, member: Member, code: str) -> None:
    with translation.override(member.language):
        text = kind.sms_text(member, confirmation.details, code)
    # The code's expiry names which of the operation's codes the SMS carries: the worker sends
    # it only while the operation is open with that expiry (otp/delivery.py).
    queue_sms(
        member.phone,
        text,
        member=member,
        give_up_at=confirmation.code_expires_at,
        confirmation_id=confirmation.pk,
    )


def start_confirmation(
    kind: OperationKind,
    member: Member,
    *,
    details: dict[str, Any],
    channel: str,
    ctx: RequestContext,
    subject: str = "",
) -> Confirmation:
    """A new operation of `kind` with its first code; an open operation of the same kind and
    subject is voided, its wrong codes and codes sent kept (`otp/restarts.py`). Joins the caller's
    transaction: the operation, its code and its SMS commit together or not at all (R-O5)."""
    details = json.loads(json.dumps(details, default=str))
    digest = operation_digest(kind.name, details)
    code = _new_code(member)
    now = clock.now()
    with transaction.atomic():
        spend_send_budget(member)  # locks the member: starts of one member one at a time
        carried = carried_over(member, kind.name, subject, kind.side_by_side, channel, now)
        _void_open_operations.run(member_id=member.pk, kind=kind.name, subject=subject, now=now)
        confirmation = insert_new(
            Confirmation(
                member=member,
                kind=kind.name,
                subject=subject,
                channel=channel,
                details_digest=digest,
                details=details,
                code_hash="",
                code_expires_at=now + timedelta(seconds=member.credit_union.otp_ttl_seconds),
                failed_codes=carried.wrong_codes,
                codes_sent=carried.codes_sent + 1,
                carried_from_id=carried.codes_from,
                created_at=now,
            )
        )
        # The code's hash binds the operation's id, known only once the row is inserted.
        confirmation.code_hash = _code_hash(confirmation.pk, code, digest)
        _store_code_hash.run(confirmation_id=confirmation.pk, code_hash=confirmation.code_hash)
        _send(kind, confirmation, member, code)
        record_event(
            "otp_issued",
            ctx,
            credit_union_id=member.credit_union_id,
            member_id=member.pk,
            data={"operation": kind.name, "confirmation": confirmation.pk},
        )
    return confirmation


def _started_elsewhere(
    confirmation: Confirmation, ctx: RequestContext
) -> OperationOfOtherChannel | None:
    """R-O4: the operation's codes are entered where it was started (the web's consequence or
    the app's); from the other channel a code is neither counted nor sent."""
    if not takes_codes_in(confirmation.channel, ctx.channel):
        return OperationOfOtherChannel()
    return None


def resend_code(
    kind: OperationKind, confirmation_id: int, member: Member, ctx: RequestContext
) -> Confirmation:
    """A new code for an open operation, replacing the old one in the same row: the wrong codes
    counted so far stay counted (R-X7)."""
    with transaction.atomic():
        confirmation = lock_operation(kind, confirmation_id, member)
        if confirmation.state != Confirmation.State.OPEN:
            raise kind.closed()
        if other_channel := _started_elsewhere(confirmation, ctx):
            raise other_channel
        if confirmation.codes_sent >= codes_per_operation():
            # Codes the provider never took (it is down) are not resends the member used.
            if withdraw_replaced_codes(member, replacing=confirmation.pk):
                confirmation.refresh_from_db(fields=["codes_sent"])
            if confirmation.codes_sent >= codes_per_operation():
                raise OtpResendLimited()
        spend_send_budget(member)
        code = _new_code(member)
        confirmation.code_hash = _code_hash(confirmation.pk, code, confirmation.details_digest)
        confirmation.code_expires_at = clock.now() + timedelta(
            seconds=member.credit_union.otp_ttl_seconds
        )
        confirmation.codes_sent += 1
        confirmation.save(update_fields=["code_hash", "code_expires_at", "codes_sent"])
        _send(kind, confirmation, member, code)
        record_event(
            "otp_issued",
            ctx,
            credit_union_id=member.credit_union_id,
            member_id=member.pk,
            data={
                "operation": kind.name,
                "confirmation": confirmation.pk,
                "resend": confirmation.codes_sent - 1,
            },
        )
    return confirmation


def confirm_code(
    kind: OperationKind,
    confirmation_id: int,
    member: Member,
    details: dict[str, Any],
    code: str,
    ctx: RequestContext,
) -> Confirmation:
    """Accept the code once, or count a wrong one that stays counted although this raises.

    `details` are the operation's details now: a code sent for other details (another amount,
    another payee) does not match and counts as wrong (R-O2)."""
    # Members copy codes with spaces ("123 456"); those are not part of the code. Nothing
    # left is no guess at it: refused, not counted (the web's form refuses it the same way).
    code = "".join(str(code or "").split())
    if not code:
        raise InvalidInput(_("Enter the SMS code."))
    # Nor is what cannot be a code (other characters, another length): refused, not counted.
    digits = member.credit_union.otp_digits
    if not (code.isascii() and code.isdigit() and len(code) == digits):
        raise InvalidInput(_("The SMS code is %(n)d digits from the SMS.") % {"n": digits})
    presented = _code_hash(confirmation_id, code, operation_digest(kind.name, details))
    counter = ConfirmationCounter(kind, confirmation_id, member, ctx)

    def still_the_code_sent(row: Confirmation) -> Confirmation:
        # A resend committed while this code was being compared: the code it replaced
        # confirms nothing (R-O3). Not the member's mistake either: nothing stays counted.
        if row.code_hash != presented:
            raise OtpExpired()
        return row

    return check_secret(
        counter, DigestGuess(lambda row: row.code_hash, presented), still_the_code_sent
    )


def code_attempts_left(confirmation: Confirmation) -> int:
    limit = confirmation.member.credit_union.max_otp_failures
    return max(limit - settled_failures(confirmation, "failed_codes"), 0)


def void_confirmations(member: Member, kind: OperationKind, subject: str | None = None) -> int:
    """Close the member's open operations of `kind` (cancelled, or their subject is gone)."""
    open_ones = Confirmation.objects.filter(
        member=member, kind=kind.name, state=Confirmation.State.OPEN
    )
    if subject is not None:
        open_ones = open_ones.filter(subject=subject)
    return open_ones.update(state=Confirmation.State.VOIDED, closed_at=clock.now())


def void_channel_confirmations(member: Member, channel: str) -> int:
    """Close every open operation of the member in one channel (e.g. the web's when staff
    unblock it with a new temporary password)."""
    return Confirmation.objects.filter(
        member=member, channel=channel, state=Confirmation.State.OPEN
    ).update(state=Confirmation.State.VOIDED, closed_at=clock.now())


def void_confirmation(member: Member, confirmation_id: int) -> None:
    """Close one open operation of the member (its subject is gone)."""
    Confirmation.objects.filter(
        pk=confirmation_id, member=member, state=Confirmation.State.OPEN
    ).update(state=Confirmation.State.VOIDED, closed_at=clock.now())


def lock_operation(kind: OperationKind, confirmation_id: int, member: Member) -> Confirmation:
    """The member's operation of `kind`, locked (after the member's codes: one order of locks,
    `lock_members_codes`); refused as the kind's closed one if none."""
    lock_members_codes(member)
    confirmation = (
        for_update(Confirmation.objects)
        .select_related("member__credit_union")
        .filter(pk=confirmation_id, member=member, kind=kind.name)
        .first()
    )
    if confirmation is None:
        raise kind.closed()
    return confirmation


class ConfirmationCounter(Counter[Confirmation]):
    """Wrong codes of one operation, across its resends (R-X7)."""

    field = "failed_codes"

    def __init__(
        self, kind: OperationKind, confirmation_id: int, member: Member, ctx: RequestContext
    ) -> None:
        self.kind = kind
        self.confirmation_id = confirmation_id
        self.member = member
        self.ctx = ctx
        self.limit = member.credit_union.max_otp_failures

    def lock(self) -> Confirmation:
        return lock_operation(self.kind, self.confirmation_id, self.member)

    def refusal(self, row: Confirmation) -> DomainError | None:
        if row.state != Confirmation.State.OPEN:
            return self.kind.closed()
        if other_channel := _started_elsewhere(row, self.ctx):
            return other_channel
        # Two parallel starts could each miss the other's void: only the newest one counts.
        if Confirmation.objects.filter(
            member=self.member, kind=row.kind, subject=row.subject, pk__gt=row.pk
        ).exists():
            return self.kind.closed()
        if row.code_expires_at <= clock.now():
            return OtpExpired()
        return None

    def counted_beside(self, row: Confirmation) -> int:
        # The operations of a kind waiting side by side in one channel have one budget (R-X7):
        # a code being compared on another of them holds one of its places until it settles
        # (its settlement then shares the outcome). Without this each of K waiting transfers
        # let three codes be compared at once.
        return others_in_flight(row)

    def exhausted(self, row: Confirmation) -> DomainError:
        return OtpAttemptsExhausted()

    def accept(self, row: Confirmation) -> None:
        # The right code is not a wrong one: were the operation reopened (its booking failed
        # in the database), the budget must hold the wrong codes only (R-X6, R-X7). Given back
        # in the same statement that confirms.
        row.failed_codes = max(row.failed_codes - 1, 0)
        row.state = Confirmation.State.CONFIRMED
        row.closed_at = clock.now()
        row.save(update_fields=["state", "closed_at", "failed_codes", "failed_codes_in_flight"])

    def reject(self, row: Confirmation) -> DomainError:
        left = self.attempts_left(row)
        record_event(
            "otp_failed",
            self.ctx,
            credit_union_id=self.member.credit_union_id,
            member_id=self.member.pk,
            data={"operation": row.kind, "confirmation": row.pk, "attempts_left": left},
        )
        if left:
            share_wrong_codes(row, self.failures(row))
            return OtpInvalid(attempts_left=left)
        row.state = Confirmation.State.EXHAUSTED
        row.closed_at = clock.now()
        row.save(update_fields=["state", "closed_at"])
        # The budget they shared is spent: their codes are compared no more (R-X7).
        for other in close_the_others_waiting(row):
            if self.kind.on_closed_beside is not None:
                self.kind.on_closed_beside(other, self.ctx)
        return self.kind.on_codes_exhausted(row, self.ctx)
