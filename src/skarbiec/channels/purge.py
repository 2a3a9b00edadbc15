"""Removal of mobile-app sessions that ended (R-X9)."""

from datetime import timedelta

from django.core.validators import MaxValueValidator
from django.db.models import Q

from skarbiec.channels.models import MobileSession
from skarbiec.core import clock
from skarbiec.members.models import CreditUnion

# Kept a day after they end, for the helpline looking at a member's recent sessions.
KEEP_AFTER_END = timedelta(days=1)


def _longest_idle_timeout() -> timedelta:
    # A session unused for longer than any credit union's idle limit has ended (R-M9).
    field = CreditUnion._meta.get_field("idle_timeout_seconds")
    limits = [v.limit_value for v in field.validators if isinstance(v, MaxValueValidator)]
    return timedelta(seconds=max(limits))


def purge_ended_mobile_sessions() -> int:
    """Delete sessions revoked, or expired (idle or absolute), more than a day ago."""
    cutoff = clock.now() - KEEP_AFTER_END
    ended = (
        Q(revoked_at__lt=cutoff)
        | Q(absolute_expires_at__lt=cutoff)
        | Q(last_seen_at__lt=cutoff - _longest_idle_timeout())
    )
    deleted, _ = MobileSession.objects.filter(ended).delete()
    return deleted
