"""Removal of confirmations whose codes can no longer be used, and of old SMS records (R-X9)."""

from datetime import timedelta

from skarbiec.core import clock
from skarbiec.otp.models import Confirmation, SmsMessage

# Kept an hour after the last code expired while the operation may still be looked into (the
# audit log keeps its history for good). An open operation that old is given up: its code can no
# longer be resent, the member starts it again.
KEEP_AFTER_EXPIRY = timedelta(hours=1)


def purge_expired_codes() -> int:
    """Delete confirmations whose last code expired over an hour ago, whatever their state (an
    operation nobody confirmed stays "open"); returns how many."""
    cutoff = clock.now() - KEEP_AFTER_EXPIRY
    deleted, _ = Confirmation.objects.filter(code_expires_at__lt=cutoff).delete()
    return deleted


#: How long the record of an SMS (phone number, state, times; its text is erased once sent) is
#: kept: long enough to answer a member's "the code never came" and to count the day's codes
#: (otp/send_budget.py); the audit log keeps the security events for good.
SMS_RECORDS_KEPT = timedelta(days=90)


def purge_old_sms_records() -> int:
    """Delete SMS records older than SMS_RECORDS_KEPT that are no longer queued; returns how
    many."""
    cutoff = clock.now() - SMS_RECORDS_KEPT
    old = SmsMessage.objects.filter(created_at__lt=cutoff).exclude(state=SmsMessage.State.PENDING)
    deleted, _ = old.delete()
    return deleted
