"""R-D2: /healthz and /readyz for load balancers, in-process on SQLite and PostgreSQL.

The database outage case runs against real instances in test_deploy_nginx.py (PostgreSQL)."""

import io
import os
import signal
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from skarbiec.core import clock
from skarbiec.operations import heartbeat
from skarbiec.operations.models import Heartbeat


@pytest.fixture
def probe() -> Client:
    # A load balancer calls an instance by its address, over plain HTTP.
    return Client(HTTP_HOST="10.20.30.40:8001")


@pytest.fixture(autouse=True)
def _fresh_beats():
    heartbeat.forget_local_beats()
    yield
    heartbeat.forget_local_beats()


@pytest.mark.django_db
def test_r_d2_healthz_answers_without_touching_the_database(
    probe, settings, django_assert_num_queries
):
    settings.SECURE_SSL_REDIRECT = True  # not redirected, not refused for its Host
    with django_assert_num_queries(0):
        response = probe.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_r_d2_readyz_is_ready_with_database_migrations_and_a_fresh_worker_heartbeat(
    probe, settings, django_assert_max_num_queries
):
    settings.SECURE_SSL_REDIRECT = True
    heartbeat.beat(heartbeat.SMS_WORKER)
    probe.get("/readyz")  # the first probe of a process reads the migration files once
    with django_assert_max_num_queries(3):
        started = time.perf_counter()
        response = probe.get("/readyz")
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "sms-worker": "ok"},
        "failing": [],
    }
    assert elapsed < 0.05  # a few milliseconds of work, generous for a loaded CI machine


@pytest.mark.django_db
def test_r_d2_readyz_fails_naming_the_worker_when_it_never_beat(probe):
    response = probe.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["sms-worker"]
    assert response.json()["checks"]["sms-worker"] == "no heartbeat yet"


@pytest.mark.django_db
def test_r_d2_readyz_fails_when_the_worker_heartbeat_is_older_than_a_minute(probe):
    heartbeat.beat(heartbeat.SMS_WORKER)
    clock.advance(59)
    assert probe.get("/readyz").status_code == 200
    clock.advance(2)
    response = probe.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["sms-worker"]
    assert response.json()["checks"]["sms-worker"] == "last heartbeat 61 s ago"


@pytest.mark.django_db
def test_r_d2_readyz_fails_naming_migrations_that_are_not_applied(probe):
    heartbeat.beat(heartbeat.SMS_WORKER)
    with connection.cursor() as cursor:  # rolled back with the test
        cursor.execute("DELETE FROM django_migrations WHERE app = 'operations'")
    response = probe.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["migrations"]
    assert "operations.0001_initial" in response.json()["checks"]["migrations"]


@pytest.mark.django_db
def test_r_d2_r_b5_the_sms_worker_loop_writes_the_heartbeat_and_seals_the_audit_log():
    from skarbiec.audit.models import AuditEvent
    from skarbiec.audit.services import record_event
    from skarbiec.core.context import RequestContext

    waiting = record_event("web_login", RequestContext(channel="web"), credit_union_id=1)
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        call_command("worker", "--interval", "0.1", stdout=io.StringIO())
    finally:
        timer.cancel()
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
    beat = Heartbeat.objects.get(name=heartbeat.SMS_WORKER)
    assert beat.pid == os.getpid()
    assert (clock.now() - beat.beat_at).total_seconds() < 5
    assert AuditEvent.objects.get(pk=waiting.pk).seq is not None
