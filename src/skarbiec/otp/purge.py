"""Removal of one-time codes that can no longer be used (R-X9)."""

from datetime import timedelta

from skarbiec.core import clock
from skarbiec.otp.models import OneTimePassword

# Kept an hour after expiry while the operation they confirmed may still be looked into; no
# expired code is ever accepted, so deleting it later changes no answer.
KEEP_AFTER_EXPIRY = timedelta(hours=1)


def purge_expired_codes() -> int:
    """Delete codes that expired over an hour ago; returns how many. A code past its expiry is
    never accepted again, whatever its state says (a code nobody typed stays "active")."""
    cutoff = clock.now() - KEEP_AFTER_EXPIRY
    deleted, _ = OneTimePassword.objects.filter(expires_at__lt=cutoff).delete()
    return deleted
