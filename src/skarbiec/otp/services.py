"""Issuing and checking one-time passwords bound to one operation and its details."""

import hmac
import json
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import transaction

from skarbiec.audit.services import RequestContext, record_event
from skarbiec.core import clock
from skarbiec.core.errors import RateLimited
from skarbiec.core.keys import keyed_hash
from skarbiec.core.throttling import consume_rate_limit
from skarbiec.members.models import Member
from skarbiec.otp.errors import OtpAttemptsExhausted, OtpExpired, OtpInvalid, OtpSendingLimited
from skarbiec.otp.models import OneTimePassword
from skarbiec.otp.sms import queue_sms

# At most this many codes per member in this many seconds (R-O3).
SEND_LIMIT = (5, 600)


def operation_digest(operation: str, details: dict[str, Any]) -> str:
    canonical = json.dumps(details, sort_keys=True, separators=(",", ":"), default=str)
    return keyed_hash("otp-details", operation, canonical)


def _code_hash(otp_id: int, code: str, digest: str) -> str:
    return keyed_hash("otp-code", str(otp_id), code, digest)


def issue_otp(
    member: Member,
    operation: str,
    details: dict[str, Any],
    sms_text: Callable[[str], str],
    ctx: RequestContext,
) -> OneTimePassword:
    """Create a code for one operation, void older ones for it, queue the SMS, all in one
    transaction. `sms_text(code)` writes the message naming the operation (R-O2)."""
    try:
        consume_rate_limit("otp-send", str(member.pk), *SEND_LIMIT)
    except RateLimited:
        raise OtpSendingLimited()
    policy = member.credit_union
    digest = operation_digest(operation, details)
    code = f"{secrets.randbelow(10**policy.otp_digits):0{policy.otp_digits}d}"
    now = clock.now()
    with transaction.atomic():
        OneTimePassword.objects.filter(
            member=member, operation=operation, state=OneTimePassword.State.ACTIVE
        ).update(state=OneTimePassword.State.VOIDED)
        otp = OneTimePassword.objects.create(
            member=member,
            operation=operation,
            details_digest=digest,
            code_hash="",
            created_at=now,
            expires_at=now + timedelta(seconds=policy.otp_ttl_seconds),
        )
        otp.code_hash = _code_hash(otp.pk, code, digest)
        otp.save(update_fields=["code_hash"])
        queue_sms(member.phone, sms_text(code), member=member, give_up_at=otp.expires_at)
        record_event(
            "otp_issued",
            ctx,
            credit_union_id=member.credit_union_id,
            member_id=member.pk,
            data={"operation": operation, "otp": otp.pk},
        )
    return otp


def verify_otp(
    otp_id: int,
    member: Member,
    operation: str,
    details: dict[str, Any],
    code: str,
    ctx: RequestContext,
    on_exhausted: Callable[[], None] | None = None,
) -> None:
    """Accept the code once, or count a failure that stays committed although this raises.

    `on_exhausted` runs inside the same transaction as the last failure, so its consequence
    (blocking the mobile app, counting toward the web lockout) cannot be lost (R-O4).
    """
    # Members copy codes with spaces ("123 456"); those are not part of the code.
    code = "".join((code or "").split())
    digest = operation_digest(operation, details)
    error: Exception | None = None
    with transaction.atomic():
        otp = (
            OneTimePassword.objects.select_for_update()
            .filter(pk=otp_id, member=member, operation=operation)
            .first()
        )
        now = clock.now()
        if otp is None or otp.state != OneTimePassword.State.ACTIVE or otp.expires_at <= now:
            raise OtpExpired()
        # Only the newest code of an operation counts (R-O3). issue_otp voids older codes, but
        # two parallel issues could each miss the other's; checking here needs no extra lock.
        if OneTimePassword.objects.filter(
            member=member, operation=operation, pk__gt=otp.pk
        ).exists():
            raise OtpExpired()
        expected = _code_hash(otp.pk, code, digest)
        if hmac.compare_digest(expected, otp.code_hash):
            otp.state = OneTimePassword.State.USED
            otp.used_at = now
            otp.save(update_fields=["state", "used_at"])
            return
        otp.failed_attempts += 1
        limit = member.credit_union.max_otp_failures
        attempts_left = max(limit - otp.failed_attempts, 0)
        if attempts_left == 0:
            otp.state = OneTimePassword.State.EXHAUSTED
            error = OtpAttemptsExhausted()
        else:
            error = OtpInvalid(attempts_left=attempts_left)
        otp.save(update_fields=["failed_attempts", "state"])
        record_event(
            "otp_failed",
            ctx,
            credit_union_id=member.credit_union_id,
            member_id=member.pk,
            data={"operation": operation, "otp": otp.pk, "attempts_left": attempts_left},
        )
        if attempts_left == 0 and on_exhausted is not None:
            on_exhausted()
    # Raised after the block commits: the failure must outlive the failed request.
    raise error


def void_otps(member: Member, operation: str) -> None:
    OneTimePassword.objects.filter(
        member=member, operation=operation, state=OneTimePassword.State.ACTIVE
    ).update(state=OneTimePassword.State.VOIDED)
