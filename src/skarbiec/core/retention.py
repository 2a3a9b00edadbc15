"""What expires is deleted (R-X9): the one schedule of purges, run by the SMS worker every few
minutes and by `skarbiec purge`.
Each purge keeps rows a while after they stop counting (an hour, a day: see each function).
"""

import logging
from importlib import import_module

from django.conf import settings
from django.utils import timezone

from skarbiec.channels.purge import purge_ended_mobile_sessions
from skarbiec.channels.services.mobile import purge_stale_device_data
from skarbiec.core import clock
from skarbiec.core.models import RateLimitCounter
from skarbiec.otp.purge import purge_expired_codes

log = logging.getLogger(__name__)

RATE_LIMIT_WINDOW_KEPT_SECONDS = 3600


def purge_rate_limit_windows() -> int:
    """Delete rate-limit windows older than an hour.

    Not core.throttling.purge_old_rate_limit_windows: it also deletes the counters of failed
    attempts for unknown Logins (window_start=0), which must last like a real Login's block, or
    an unknown Login would answer "wrong password" again after an hour while a real one stays
    blocked, telling which Logins exist (R-T3).
    """
    cutoff = int(clock.now().timestamp()) - RATE_LIMIT_WINDOW_KEPT_SECONDS
    windows = RateLimitCounter.objects.filter(window_start__lt=cutoff, window_start__gt=0)
    deleted, _ = windows.delete()
    return deleted


def purge_expired_web_sessions() -> int:
    """Django's `clearsessions`, counted: internet-service sessions past their expiry."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    deleted, _ = store.get_model_class().objects.filter(expire_date__lt=timezone.now()).delete()
    return int(deleted)


def purge_expired_data() -> dict[str, int]:
    """Run every purge; returns the rows deleted per kind and logs them."""
    purged = {
        "rate_limit_windows": purge_rate_limit_windows(),
        "device_challenges_and_activations": purge_stale_device_data(),
        "one_time_codes": purge_expired_codes(),
        "web_sessions": purge_expired_web_sessions(),
        "mobile_sessions": purge_ended_mobile_sessions(),
    }
    log.info("purged expired data: %s", ", ".join(f"{k}={v}" for k, v in purged.items()))
    return purged
