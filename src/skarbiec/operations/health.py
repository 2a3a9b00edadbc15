"""Liveness and readiness for load balancers and monitoring (R-D2).

/healthz says only that the process answers. /readyz says whether this instance can serve
members: the database answers, every migration this code knows is applied, and an SMS worker
wrote its heartbeat within the last minute (without it no login code reaches a member). Each
probe costs a few small queries, no more: it is unauthenticated and called every few seconds.
"""

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.loader import MigrationLoader

from skarbiec.core import clock
from skarbiec.operations import heartbeat

log = logging.getLogger(__name__)

HEARTBEAT_LIMIT = timedelta(minutes=1)
OK = "ok"


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, str]

    @property
    def ready(self) -> bool:
        return all(result == OK for result in self.checks.values())

    @property
    def failing(self) -> list[str]:
        return [name for name, result in self.checks.items() if result != OK]


_known_migrations: frozenset[tuple[str, str]] | None = None
_known_lock = threading.Lock()


def known_migrations() -> frozenset[tuple[str, str]]:
    """Migrations of this code, read from disk once per process: the graph does not change while
    the process lives, and loading it costs far more than a probe may."""
    global _known_migrations
    with _known_lock:
        if _known_migrations is None:
            loader = MigrationLoader(None, ignore_no_migrations=True)
            _known_migrations = frozenset(loader.graph.nodes)
        return _known_migrations


def check_database() -> str:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return OK


def check_migrations() -> str:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations")
        applied = {(app, name) for app, name in cursor.fetchall()}
    missing = sorted(known_migrations() - applied)
    if missing:
        shown = ", ".join(f"{app}.{name}" for app, name in missing[:3])
        return f"{len(missing)} not applied ({shown}{', …' if len(missing) > 3 else ''})"
    return OK


def check_worker() -> str:
    age = heartbeat.age(heartbeat.SMS_WORKER, clock.now())
    if age is None:
        return "no heartbeat yet"
    if age > HEARTBEAT_LIMIT:
        return f"last heartbeat {int(age.total_seconds())} s ago"
    return OK


def readiness() -> Readiness:
    checks: dict[str, str] = {}
    try:
        checks["database"] = check_database()
    except DatabaseError as e:
        # Without the database the other checks cannot run; name them so nobody reads their
        # absence as a pass.
        log.warning("readiness: database unavailable: %s", type(e).__name__)
        return Readiness(
            {"database": "unavailable", "migrations": "not checked", "sms-worker": "not checked"}
        )
    for name, check in (("migrations", check_migrations), ("sms-worker", check_worker)):
        try:
            checks[name] = check()
        except DatabaseError as e:
            checks[name] = f"query failed ({type(e).__name__})"
    return Readiness(checks)
