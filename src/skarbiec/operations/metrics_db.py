"""Metrics read from the database at scrape time (R-D4); see skarbiec.operations.metrics."""

from collections.abc import Iterator
from typing import Any

from django.db.models import Count, Min
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from skarbiec.core import clock
from skarbiec.ledger.models import Order
from skarbiec.operations import heartbeat
from skarbiec.operations.audit_tally import audit_tally
from skarbiec.operations.version import version
from skarbiec.otp.models import SmsMessage

# Audit events that are logins, failed logins and channel blocks, by channel. A block set by the
# helpline at the member's request is the same event as one after three failures.
LOGINS = {"web_login": "web", "mobile_login": "mobile"}
LOGIN_FAILURES = {"web_login_failed": "web", "mobile_login_failed": "mobile"}
BLOCKS = {"web_channel_blocked": "web", "mobile_channel_blocked": "mobile"}


def _by_channel(name: str, doc: str, events: dict[str, str], counts: Any) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=["channel"])
    for channel in ("web", "mobile"):
        family.add_metric([channel], sum(counts[e] for e, c in events.items() if c == channel))
    return family


class DatabaseCollector:
    def collect(self) -> Iterator[Any]:
        info = GaugeMetricFamily("skarbiec_info", "Version of this process.", labels=["version"])
        info.add_metric([version()], 1)
        yield info

        counts = audit_tally.counts()
        yield _by_channel("skarbiec_logins", "Successful member logins.", LOGINS, counts)
        yield _by_channel(
            "skarbiec_login_failures", "Failed member logins.", LOGIN_FAILURES, counts
        )
        yield _by_channel("skarbiec_channel_blocks", "Channels blocked.", BLOCKS, counts)
        events = CounterMetricFamily(
            "skarbiec_audit_events", "Audit events by type.", labels=["event"]
        )
        for event, n in sorted(counts.items()):
            events.add_metric([event], n)
        yield events

        by_state = dict(
            Order.objects.values("state")
            .annotate(n=Count("pk"))
            .order_by()
            .values_list("state", "n")
        )
        orders = GaugeMetricFamily("skarbiec_orders", "Orders by state.", labels=["state"])
        for state in Order.State:
            orders.add_metric([state.value], by_state.get(state.value, 0))
        yield orders

        now = clock.now()
        pending = SmsMessage.objects.filter(state=SmsMessage.State.PENDING).aggregate(
            n=Count("pk"), oldest=Min("created_at")
        )
        yield GaugeMetricFamily(
            "skarbiec_sms_outbox_pending", "SMS messages waiting to be sent.", value=pending["n"]
        )
        oldest = (now - pending["oldest"]).total_seconds() if pending["oldest"] else 0.0
        yield GaugeMetricFamily(
            "skarbiec_sms_outbox_oldest_seconds",
            "Age of the oldest SMS message waiting to be sent (0 when none waits).",
            value=max(oldest, 0.0),
        )
        age = heartbeat.age(heartbeat.SMS_WORKER, now)
        if age is not None:
            yield GaugeMetricFamily(
                "skarbiec_worker_heartbeat_age_seconds",
                "Seconds since the SMS worker last reported.",
                value=age.total_seconds(),
            )
