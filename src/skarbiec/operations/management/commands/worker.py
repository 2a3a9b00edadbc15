"""`skarbiec worker`: the background worker that sends queued SMS messages (R-O5, R-X2) and,
every few minutes, deletes what expired (R-X9) and issues last month's account statements that
are missing (R-L5: on the first day of a month, or as soon as the worker runs after it).

Statements are issued on a thread of their own: on the first of a month every member account
gets one, each a PDF of tens of milliseconds (seconds for a busy account), and login and
transfer codes must not wait behind them."""

import logging
import signal
import threading
import time
from types import FrameType
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, close_old_connections, connection

from skarbiec.audit.services import seal_audit_chains
from skarbiec.ledger.statements import issue_monthly_statements
from skarbiec.operations.heartbeat import SMS_WORKER, beat
from skarbiec.operations.retention import purge_expired_data
from skarbiec.otp.delivery import send_pending_sms
from skarbiec.otp.gateways import gateway_from_settings

log = logging.getLogger(__name__)

#: Statements issued per pass of the statements thread.
STATEMENT_BATCH = 50
#: How long a stopping worker waits for the statement in hand before it leaves it (not
#: stored: the next run issues it).
STATEMENT_STOP_SECONDS = 30.0


def issue_statements_until_stopped(stop: threading.Event, every: float) -> None:
    """The statements thread: issue what is missing, batch after batch, then look again every
    `every` seconds. Its own database connection, closed when it ends."""
    try:
        while not stop.is_set():
            issued = 0
            try:
                close_old_connections()
                # Idempotent: one statement per account and month (unique constraint).
                issued = issue_monthly_statements(batch=STATEMENT_BATCH)
                if issued:
                    log.info("worker: %d monthly statement(s) issued", issued)
            except DatabaseError:
                log.exception("worker: database unavailable, statements skipped")
            except Exception:  # noqa: BLE001 - one account's failure must not end the thread
                log.exception("worker: a statement could not be issued")
            if issued < STATEMENT_BATCH:
                stop.wait(every)
    finally:
        connection.close()


def _positive(kind: type) -> Any:
    def parse(value: str) -> Any:
        number = kind(value)
        if number <= 0:
            raise ValueError(value)
        return number

    parse.__name__ = kind.__name__
    return parse


class Command(BaseCommand):
    help = (
        "Send queued SMS messages through the configured gateway, retrying failures, and delete "
        "expired data every --purge-interval seconds. Runs until SIGTERM or Ctrl+C (finishing "
        "the message in hand), or one pass over the messages with --once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass over due messages")
        parser.add_argument(
            "--interval",
            type=_positive(float),
            default=2.0,
            help="seconds to sleep when nothing is due (default 2)",
        )
        parser.add_argument(
            "--purge-interval",
            type=_positive(float),
            default=300.0,
            help="seconds between purges of expired data (default 300)",
        )
        parser.add_argument(
            "--batch",
            type=_positive(int),
            default=50,
            help="messages per pass (default 50)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            gateway = gateway_from_settings()
        except ImproperlyConfigured as e:
            raise CommandError(str(e))
        batch: int = options["batch"]
        if options["once"]:
            handled = send_pending_sms(batch, gateway)
            self.stdout.write(f"{handled} message(s) handled")
            issued = issue_monthly_statements()
            if issued:
                self.stdout.write(f"{issued} statement(s) issued")
            return

        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            # Only sets a flag: the message in hand is finished and its outcome written.
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        self.stdout.write(f"worker started (gateway: {gateway.name})")
        next_purge = time.monotonic()
        statements = threading.Thread(
            target=issue_statements_until_stopped,
            args=(stop, options["purge_interval"]),
            name="statements",
            daemon=True,
        )
        statements.start()
        while not stop.is_set():
            # A long-running process must not keep a connection the database has dropped
            # (never mid-transaction: a caller's atomic block, as in tests, keeps its own).
            if not connection.in_atomic_block:
                close_old_connections()
            if time.monotonic() >= next_purge:
                next_purge = time.monotonic() + options["purge_interval"]
                try:
                    purge_expired_data()
                except DatabaseError:
                    log.exception("worker: database unavailable, purge skipped")
            try:
                beat(SMS_WORKER)  # /readyz: a worker is alive (R-D2)
                # Events written since the last pass join their audit chain (R-B5).
                seal_audit_chains()
                handled = send_pending_sms(batch, gateway)
            except DatabaseError:
                log.exception("worker: database unavailable, retrying")
                handled = 0
            if handled < batch:
                stop.wait(options["interval"])
        statements.join(STATEMENT_STOP_SECONDS)
        self.stdout.write("worker stopped")
