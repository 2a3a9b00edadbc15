"""Giving up a queued SMS (R-O5, R-X7): the message never sent, its operation's count of codes
sent corrected, the helpline's record of why. The SMS worker gives messages up (otp/delivery.py);
a resend, a start again or the member's budget that would refuse takes back codes waiting for a
retry (`withdraw_replaced_codes`). Kept apart from the worker, which talks to the gateway, so the
web workers that start and resend operations never load the gateway's client libraries (their
imports alone cost each worker 5 MiB, SPEC §11 P4).
"""

from typing import Any

from django.db.models import F, QuerySet, Subquery

from skarbiec.audit.services import record_event
from skarbiec.core.context import SYSTEM
from skarbiec.core.locks import for_update
from skarbiec.core.prepared import Update, prepared_rows, prepared_select, prepared_update
from skarbiec.members.models import Member
from skarbiec.otp.member_lock import lock_members_codes_by_id
from skarbiec.otp.models import Confirmation, SmsMessage


@prepared_select
def _current_code_of(confirmation_id: int, sms_id: int) -> QuerySet[Confirmation]:
    # The SMS carries the code that expires at its give_up_at (otp/operations._send).
    return Confirmation.objects.filter(
        pk=confirmation_id,
        state=Confirmation.State.OPEN,
        code_expires_at=Subquery(SmsMessage.objects.filter(pk=sms_id).values("give_up_at")),
    ).only("pk")


def _carries_current_code(message: SmsMessage) -> bool:
    """Whether the code this SMS carries is still its operation's current one."""
    assert message.confirmation_id is not None
    return (
        _current_code_of.first(confirmation_id=message.confirmation_id, sms_id=message.pk)
        is not None
    )


def withdraw_replaced_codes(member: Member, replacing: int | None = None) -> int:
    """Give up now the member's code SMS whose try failed and which wait for their retry, if
    their code is no longer its operation's current one, or is the current one of the
    operation `replacing` (the caller replaces its code); return how many of them surely never
    reached the member and so stop counting as codes sent (R-X7). One not tried yet is on its
    way (the worker sends it within a second), and so is one a worker is handing to the
    gateway. In the caller's transaction, under the member's lock
    (`member_lock.lock_members_codes`). A message another transaction holds is skipped, not
    waited for: its worker settles it."""
    queued = (
        for_update(SmsMessage.objects, skip_locked=True)
        .filter(
            # Never one a worker holds or held: a lease that ran out without an outcome may
            # have reached the provider; the worker's next claim marks it so (`maybe_sent`).
            sending_until__isnull=True,
            member_id=member.pk,
            state=SmsMessage.State.PENDING,
            confirmation_id__isnull=False,
            attempts__gt=0,
        )
        .only("attempts", "member_id", "confirmation_id", "maybe_sent")
    )
    withdrawn = 0
    for message in queued:
        if message.confirmation_id != replacing and _carries_current_code(message):
            continue
        if _give_up(message, SmsMessage.State.EXPIRED, "code replaced before it was sent"):
            withdrawn += not message.maybe_sent
    return withdrawn


def _under_lease(message_id: int, attempts: int) -> QuerySet[SmsMessage]:
    """The message while it is still pending under the lease this worker claimed (its
    attempt count): after a lease ran out another worker may have claimed or finished it."""
    return SmsMessage.objects.filter(
        pk=message_id, state=SmsMessage.State.PENDING, attempts=attempts
    )


# Prepared, as the claim is: at a peak the worker falls behind, members who wait for a code ask
# for another, and every code replaced in the queue is given up here (one statement less and
# ~4,000 fewer Python calls each than locking, saving and lazily loading the member).
@prepared_update
def _mark_given_up(message_id: int, attempts: int, state: str, reason: str) -> Update:
    return _under_lease(message_id, attempts), {
        "state": state,
        "last_error": reason,
        "body_encrypted": "",
    }


@prepared_update
def _code_not_sent(confirmation_id: int) -> Update:
    return Confirmation.objects.filter(pk=confirmation_id, codes_sent__gt=0), {
        "codes_sent": F("codes_sent") - 1
    }


#: Operations started again from one another within the carry window: a few at most.
_LONGEST_CARRY = 16


def _not_one_of_the_codes_sent(message: SmsMessage) -> None:
    """The code never reached the member: one code sent less for its operation and for each
    operation started again from it, which carried its count (R-X7). Under the member's lock
    first, as every writer of the member's operations: the worker holds this message's row
    already, and whoever holds the member's row skips message rows, never waits for them."""
    if message.member_id is not None:
        lock_members_codes_by_id(message.member_id)
    operation_id: int | None = message.confirmation_id
    for _ in range(_LONGEST_CARRY):
        if operation_id is None:
            break
        _code_not_sent.run(confirmation_id=operation_id)
        operation_id = (
            Confirmation.objects.filter(carried_from_id=operation_id)
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )


@prepared_rows
def _credit_union_of(member_id: int) -> "QuerySet[Any, tuple[Any]]":
    return Member.objects.filter(pk=member_id).values_list("credit_union_id")


def _give_up(message: SmsMessage, state: str, reason: str) -> bool:
    """PENDING → FAILED or EXPIRED, in the caller's transaction, if the message is still
    pending under this worker's lease (its attempt count); False if another worker or a later
    lease wrote its outcome meanwhile. The member's security events show it, so the helpline
    can tell why a code never arrived. A code that surely never reached the member is not one
    of its operation's codes sent (R-X7): a gateway's fault must not use up the member's
    resends."""
    reason = reason[:300]
    given_up = _mark_given_up.run(
        message_id=message.pk, attempts=message.attempts, state=state, reason=reason
    )
    if not given_up:
        return False
    message.state, message.last_error, message.body_encrypted = state, reason, ""
    if message.confirmation_id is not None and not message.maybe_sent:
        _not_one_of_the_codes_sent(message)
    credit_union_id = None
    if message.member_id is not None:
        found = _credit_union_of.all(member_id=message.member_id)
        credit_union_id = found[0][0] if found else None
    record_event(
        "sms_not_delivered",
        SYSTEM,
        credit_union_id=credit_union_id,
        member_id=message.member_id,
        data={"sms": message.pk, "state": state, "reason": reason},
    )
    return True
