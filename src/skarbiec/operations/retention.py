"""What expires is deleted (R-X9): the one schedule of purges, run by the SMS worker every few
minutes and by `skarbiec purge`.
Each purge keeps rows a while after they stop counting (an hour, a day: see each function).
"""

import logging
from importlib import import_module

from django.conf import settings
from django.utils import timezone

from skarbiec.channels.mobile.challenges import purge_stale_device_data
from skarbiec.channels.purge import purge_ended_mobile_sessions
from skarbiec.core.throttling import purge_old_rate_limit_windows
from skarbiec.otp.purge import purge_expired_codes, purge_old_sms_records

log = logging.getLogger(__name__)


def purge_expired_web_sessions() -> int:
    """Django's `clearsessions`, counted: internet-service sessions past their expiry."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    deleted, _ = store.get_model_class().objects.filter(expire_date__lt=timezone.now()).delete()
    return int(deleted)


def purge_expired_data() -> dict[str, int]:
    """Run every purge; returns the rows deleted per kind and logs them."""
    purged = {
        "rate_limit_windows": purge_old_rate_limit_windows(),
        "device_challenges_and_activations": purge_stale_device_data(),
        "one_time_codes": purge_expired_codes(),
        "web_sessions": purge_expired_web_sessions(),
        "mobile_sessions": purge_ended_mobile_sessions(),
        "sms_records": purge_old_sms_records(),
    }
    log.info("purged expired data: %s", ", ".join(f"{k}={v}" for k, v in purged.items()))
    return purged
