"""Heartbeats of background processes (R-D2): the SMS worker writes one, /readyz reads it."""

import os
import socket
import threading
import time
from datetime import datetime, timedelta

from skarbiec.core import clock
from skarbiec.operations.models import Heartbeat

SMS_WORKER = "sms-worker"
# A worker loop turns every couple of seconds; one write every few seconds is plenty for a
# readiness limit of a minute and keeps the table out of the hot path.
MIN_INTERVAL_SECONDS = 5.0

_last_write: dict[str, float] = {}
_lock = threading.Lock()


def beat(name: str) -> None:
    """Record that `name` is alive now; at most one write per MIN_INTERVAL_SECONDS per process."""
    now_mono = time.monotonic()
    with _lock:
        last = _last_write.get(name)
        if last is not None and now_mono - last < MIN_INTERVAL_SECONDS:
            return
        _last_write[name] = now_mono
    Heartbeat.objects.update_or_create(
        name=name,
        defaults={
            "beat_at": clock.now(),
            "host": socket.gethostname()[:128],
            "pid": os.getpid(),
        },
    )


def forget_local_beats() -> None:
    """Tests: let the next beat() write at once."""
    with _lock:
        _last_write.clear()


def last_beat(name: str) -> datetime | None:
    return Heartbeat.objects.filter(name=name).values_list("beat_at", flat=True).first()


def age(name: str, now: datetime | None = None) -> timedelta | None:
    beat_at = last_beat(name)
    if beat_at is None:
        return None
    return (now or clock.now()) - beat_at
