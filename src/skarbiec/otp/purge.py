"""Removal of confirmations whose codes can no longer be used (R-X9)."""

from datetime import timedelta

from skarbiec.core import clock
from skarbiec.otp.models import Confirmation

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
