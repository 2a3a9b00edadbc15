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
or a code's budget would refuse, `giving_up.withdraw_replaced_codes` gives them up at once, as
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

from django.db import connection, transaction

from skarbiec.core import clock
from skarbiec.core.locks import for_update
from skarbiec.core.prepared import Update, prepared_update
from skarbiec.core.sealed import Unsealable
from skarbiec.otp.gateways import GatewayError, SmsGateway, gateway_from_settings
from skarbiec.otp.giving_up import (
    _carries_current_code,
    _give_up,
    _under_lease,
)
from skarbiec.otp.models import SmsMessage
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


def _give_up_replaced_code(message: SmsMessage) -> None:
    """A code SMS whose code was replaced by a resend, or whose operation closed, before it
    went out: never sent (an old code arriving after the new one would cost a wrong code)."""
    with transaction.atomic():
        _give_up(message, SmsMessage.State.EXPIRED, "code replaced or operation closed")
    message.state = SmsMessage.State.EXPIRED  # not sent, whoever wrote its outcome


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
