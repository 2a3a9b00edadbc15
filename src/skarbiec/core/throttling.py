"""Rate limits for login and code endpoints, in the database (R-X3), failing closed."""

import hashlib
import logging

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F

from skarbiec.core import clock
from skarbiec.core.errors import RateLimited, ServiceUnavailable
from skarbiec.core.models import RateLimitCounter

log = logging.getLogger(__name__)


def rate_limit_key(scope: str, subject: str) -> str:
    # Logins and addresses are hashed so the table holds no personal data in clear.
    return f"{scope}:{hashlib.sha256(subject.encode()).hexdigest()[:40]}"


def consume_rate_limit(scope: str, subject: str, limit: int, window_seconds: int) -> None:
    """Count one request for (scope, subject); raise RateLimited above `limit` per window.

    Any database failure refuses the request: a limiter that cannot count must not let
    attempts through (fail closed).
    """
    key = rate_limit_key(scope, subject)
    window = int(clock.now().timestamp()) // window_seconds * window_seconds
    try:
        with transaction.atomic():
            updated = RateLimitCounter.objects.filter(key=key, window_start=window).update(
                count=F("count") + 1
            )
            if not updated:
                try:
                    with transaction.atomic():
                        RateLimitCounter.objects.create(key=key, window_start=window, count=1)
                except IntegrityError:
                    RateLimitCounter.objects.filter(key=key, window_start=window).update(
                        count=F("count") + 1
                    )
            count = RateLimitCounter.objects.get(key=key, window_start=window).count
    except DatabaseError:
        log.exception("rate limiter unavailable; refusing request")
        raise ServiceUnavailable()
    if count > limit:
        raise RateLimited()


def purge_old_rate_limit_windows(older_than_seconds: int = 3600) -> int:
    cutoff = int(clock.now().timestamp()) - older_than_seconds
    deleted, _ = RateLimitCounter.objects.filter(window_start__lt=cutoff).delete()
    return deleted


def count_unknown_login_failure(scope: str, login: str, limit: int) -> int:
    """Count a failed attempt for a Login that does not exist, so it walks through the same
    answers as a real one (R-T3). Returns the attempts left; 0 means "blocked"."""
    key = rate_limit_key(scope, login)
    with transaction.atomic():
        counter, _created = RateLimitCounter.objects.select_for_update().get_or_create(
            key=key, window_start=0
        )
        if counter.count < limit:
            counter.count += 1
            counter.save(update_fields=["count"])
    return max(limit - counter.count, 0)
