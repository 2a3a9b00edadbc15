"""Sending queued SMS messages through the gateway, with retries (R-O5).

How one message travels:
- it is *claimed* by one statement committed by itself: its attempt is counted and it is
  leased for LEASE_SECONDS by moving next_attempt_at forward, so a parallel worker skips it
  (a subquery FOR NO KEY UPDATE SKIP LOCKED on PostgreSQL; SQLite queues writers anyway), and
  sending_until marks it as on its way until the lease ends;
- the gateway is called with no transaction or lock open (an HTTP call may take seconds);
- the outcome is written in a second transaction. A worker that dies in between leaves a lease
  that runs out, and the message is tried again, under the same reference
  (`message_reference`): a gateway that knows it has taken that message (SMSAPI, `check_idx`)
  does not send it a second time.

Retries: after a temporary failure the next attempt waits 5 s, 30 s, 2 min, then 10 min; the
fifth failure, or any permanent one, makes the message FAILED.

Giving up (decision): a message with give_up_at (every code SMS: the code's expires_at) is never
sent after that moment, it becomes EXPIRED instead, and so is a message whose next retry would
fall after it. A code arriving after it stopped working only confuses the member, who asks for a
new code instead. Messages that can still be sent go first; the expired ones are given up when
none of those is due. Messages without give_up_at (temporary passwords) run through all retries.

Taking back (R-X7): a code SMS replaced by a resend, or whose operation closed, while it waited
for a retry after a failed try (the provider down) has not reached the member. Where a resend
or a code's budget would refuse, `withdraw_replaced_codes` gives such messages up at once, as
the worker would at their next try, so the provider's outage does not use up the member's
resends for minutes. A message a worker holds or held (sending_until set) is left to the
workers: the provider may have taken it.

The body is erased as soon as the message leaves PENDING, except when the development outbox
delivered it (reading it is the outbox's purpose): a real gateway's codes and temporary
passwords do not stay readable in the database.
"""

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, QuerySet, Subquery

from skarbiec.audit.services import record_event
from skarbiec.core import clock
from skarbiec.core.context import SYSTEM
from skarbiec.core.locks import for_update
from skarbiec.core.prepared import Update, prepared_rows, prepared_select, prepared_update
from skarbiec.core.sealed import Unsealable
from skarbiec.members.models import Member
from skarbiec.otp.gateways import GatewayError, SmsGateway, gateway_from_settings
from skarbiec.otp.member_lock import lock_members_codes_by_id
from skarbiec.otp.models import Confirmation, SmsMessage
from skarbiec.otp.sms import decrypt_body

log = logging.getLogger(__name__)

# Waits after the 1st, 2nd, 3rd and 4th temporary failure; the 5th failure is final.
RETRY_DELAYS_SECONDS = (5, 30, 120, 600)
# Long enough for one gateway call (SmsApiGateway times out after 10 s).
LEASE_SECONDS = 60


def send_pending_sms(limit: int = 50, gateway: SmsGateway | None = None) -> int:
    """Send up to `limit` messages that are due; return how many were dealt with (sent,
    rescheduled, failed or given up). Less than `limit` means the queue is empty for now."""
    gateway = gateway or gateway_from_settings()
    handled = 0
    while handled < limit:
        message = _claim_next_message()
        if message is None:
            break
        handled += 1
        if message.state != SmsMessage.State.PENDING:
            continue  # given up at claim time
        _deliver(message, gateway)
    return handled


def _claim_next_message() -> SmsMessage | None:
    """The next message to send, leased; else the next code SMS whose code expired before it
    could be sent, given up (EXPIRED); else None."""
    return _claim_sendable_message() or _give_up_next_expired_message()


def _claim_sendable_message() -> SmsMessage | None:
    """The earliest due message whose code has not expired, its attempt counted and its lease
    taken in one statement committed by itself (the worker does this for every message). A
    parallel worker skips the row this one holds (SKIP LOCKED, PostgreSQL); SQLite queues
    writers anyway."""
    now = clock.now()
    until = now + timedelta(seconds=LEASE_SECONDS)
    table = connection.ops.quote_name(SmsMessage._meta.db_table)
    skip_locked = (
        " FOR NO KEY UPDATE SKIP LOCKED"
        if connection.features.has_select_for_update_skip_locked
        else ""
    )
    adapt = connection.ops.adapt_datetimefield_value
    with transaction.mark_for_rollback_on_error(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET attempts = attempts + 1, next_attempt_at = %s,"  # noqa: S608
            # A lease still marked is a try whose worker died before writing its outcome:
            # the provider may have taken the message (R-X7).
            " maybe_sent = (maybe_sent OR sending_until IS NOT NULL), sending_until = %s"
            f" WHERE id = (SELECT id FROM {table} WHERE state = %s AND next_attempt_at <= %s"
            " AND (give_up_at IS NULL OR give_up_at > %s)"
            f" ORDER BY next_attempt_at, id LIMIT 1{skip_locked})"
            " RETURNING id, attempts, phone, body_encrypted, member_id, confirmation_id,"
            " maybe_sent",
            [adapt(until), adapt(until), SmsMessage.State.PENDING, adapt(now), adapt(now)],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    message_id, attempts, phone, body_encrypted, member_id, confirmation_id, maybe_sent = row
    message = SmsMessage(
        pk=message_id,
        attempts=attempts,
        phone=phone,
        body_encrypted=body_encrypted,
        member_id=member_id,
        confirmation_id=confirmation_id,
        maybe_sent=bool(maybe_sent),
        state=SmsMessage.State.PENDING,
        next_attempt_at=until,
        sending_until=until,
    )
    if confirmation_id is not None and not _carries_current_code(message):
        _give_up_replaced_code(message)
    return message


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


def _give_up_replaced_code(message: SmsMessage) -> None:
    """A code SMS whose code was replaced by a resend, or whose operation closed, before it
    went out: never sent (an old code arriving after the new one would cost a wrong code)."""
    with transaction.atomic():
        _give_up(message, SmsMessage.State.EXPIRED, "code replaced or operation closed")
    message.state = SmsMessage.State.EXPIRED  # not sent, whoever wrote its outcome


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


def _give_up_next_expired_message() -> SmsMessage | None:
    now = clock.now()
    with transaction.atomic():
        message = (
            for_update(SmsMessage.objects, skip_locked=True)
            .filter(state=SmsMessage.State.PENDING, next_attempt_at__lte=now, give_up_at__lte=now)
            .order_by("next_attempt_at", "pk")
            .first()
        )
        if message is not None:
            if message.sending_until is not None and not message.maybe_sent:
                # Its last try's worker died before writing the outcome (see the claim).
                message.maybe_sent = True
                message.save(update_fields=["maybe_sent"])
            _give_up(message, SmsMessage.State.EXPIRED, "code expired before sending")
    return message


def message_reference(message: SmsMessage) -> str:
    """The name of this message at the gateway, the same for every try of it: its id and a
    digest of its encrypted body, whose random IV keeps two messages apart even where ids
    repeat (another installation on the same SMSAPI account, a database restored from a
    backup)."""
    digest = hashlib.sha256(message.body_encrypted.encode()).hexdigest()[:24]
    return f"{message.pk}-{digest}"


def _deliver(message: SmsMessage, gateway: SmsGateway) -> None:
    try:
        text = decrypt_body(message.body_encrypted)
    except Unsealable:
        # Encrypted under another secret key: no retry can read it.
        _record_failure(message, GatewayError("body cannot be decrypted", temporary=False))
        return
    try:
        provider_id = gateway.send(message.phone, text, reference=message_reference(message))
    except GatewayError as e:
        log.warning("SMS %s not sent (%s): %s", message.pk, gateway.name, e.reason)
        _record_failure(message, e)
        return
    except Exception:
        # A fault in a gateway adapter must not stop the worker; retry like a network error.
        log.exception("SMS %s: gateway %s crashed", message.pk, gateway.name)
        _record_failure(message, GatewayError("gateway error", temporary=True, maybe_sent=True))
        return
    _record_sent(message, gateway, provider_id)


def _under_lease(message_id: int, attempts: int) -> QuerySet[SmsMessage]:
    """The message while it is still pending under the lease this worker claimed (its
    attempt count): after a lease ran out another worker may have claimed or finished it."""
    return SmsMessage.objects.filter(
        pk=message_id, state=SmsMessage.State.PENDING, attempts=attempts
    )


def _locked_if_pending(message: SmsMessage) -> SmsMessage | None:
    return for_update(_under_lease(message.pk, message.attempts)).first()


# Prepared, as the claim is hand-written: the worker writes this for every message it sends.
# One conditional UPDATE checks the lease and writes.
@prepared_update
def _mark_sent(
    message_id: int, attempts: int, sent_at: datetime, gateway: str, provider_id: str, body: str
) -> Update:
    sent = {
        "state": SmsMessage.State.SENT,
        "sent_at": sent_at,
        "gateway": gateway,
        "gateway_message_id": provider_id,
        "last_error": "",
        "body_encrypted": body,
    }
    return _under_lease(message_id, attempts), sent


def _record_sent(message: SmsMessage, gateway: SmsGateway, provider_id: str) -> None:
    _mark_sent.run(
        message_id=message.pk,
        attempts=message.attempts,
        sent_at=clock.now(),
        gateway=gateway.name,
        provider_id=provider_id[:100],
        # Erased unless the development outbox delivered it (see the module docstring).
        body=message.body_encrypted if gateway.keeps_body else "",
    )


def _record_failure(message: SmsMessage, error: GatewayError) -> None:
    with transaction.atomic():
        locked = _locked_if_pending(message)
        if locked is None:
            return
        reason = error.reason[:300]
        if error.maybe_sent and not locked.maybe_sent:
            locked.maybe_sent = True
            locked.save(update_fields=["maybe_sent"])
        if not error.temporary or locked.attempts > len(RETRY_DELAYS_SECONDS):
            _give_up(locked, SmsMessage.State.FAILED, reason)
            return
        retry_at = clock.now() + timedelta(seconds=RETRY_DELAYS_SECONDS[locked.attempts - 1])
        if locked.give_up_at is not None and retry_at >= locked.give_up_at:
            _give_up(locked, SmsMessage.State.EXPIRED, f"{reason}; code expires before retry")
            return
        locked.next_attempt_at = retry_at
        locked.last_error = reason
        # Not on its way any more: a resend may take it back while it waits (R-X7).
        locked.sending_until = None
        locked.save(update_fields=["next_attempt_at", "last_error", "sending_until"])


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
