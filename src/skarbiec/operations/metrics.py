"""Prometheus metrics (R-D4), served at /metrics to a scraper holding the metrics token.

Two kinds of numbers, chosen by where the truth lives:
- Business and queue numbers (logins, failures, blocks, orders by state, SMS outbox length and
  age, worker heartbeat) are read from the database at scrape time. They are the installation's
  totals, identical on every process and instance, survive restarts, and need no hook in the
  services. Counters come from the append-only audit log (see audit_tally), so they only grow.
- Request latency exists only in the process that served the request. gunicorn runs several
  worker processes per instance, so the histogram uses prometheus_client's multiprocess mode:
  `skarbiec run` gives each instance a fresh directory (PROMETHEUS_MULTIPROC_DIR) before the
  workers start, every worker writes its samples there, and a scrape answered by any worker sums
  them all. prometheus_client decides its mode when first imported, so this module imports it
  lazily and nothing imports this module before `skarbiec run` has set the directory.
"""

import hmac
import os
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest

if TYPE_CHECKING:
    from prometheus_client import Histogram

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_latency: "Histogram | None" = None
_latency_lock = threading.Lock()


def prepare_multiprocess_dir(directory: Path) -> Path:
    """Called by `skarbiec run` before gunicorn forks: a fresh directory for this instance.

    Samples of a previous run must not be summed into this one, and two instances on one host
    must not share a directory (each is scraped on its own)."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True, mode=0o700)
    os.environ[MULTIPROC_ENV] = str(directory)
    return directory


def _latency_histogram() -> "Histogram":
    global _latency
    with _latency_lock:
        if _latency is None:
            from prometheus_client import Histogram

            _latency = Histogram(
                "skarbiec_http_request_duration_seconds",
                "Time to answer an HTTP request, by method, URL pattern and status class.",
                ["method", "route", "status"],
                buckets=LATENCY_BUCKETS,
            )
        return _latency


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    _latency_histogram().labels(method, route, f"{status // 100}xx").observe(seconds)


def token_accepted(request: HttpRequest) -> bool:
    """Metrics are for the scraper only: without a configured token they are not served at all."""
    expected = settings.METRICS_TOKEN
    if not expected:
        return False
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {expected}".encode())


def render() -> tuple[bytes, str]:
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    from skarbiec.operations.metrics_db import DatabaseCollector

    _latency_histogram()  # present (with no samples) before the first request is observed
    registry: Any
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = CollectorRegistry()
        registry.register(_RegistryView(REGISTRY))
    registry.register(DatabaseCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _RegistryView:
    """The process's own registry (one process: tests, a single-worker server) as a collector."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def collect(self) -> Any:
        return self.source.collect()
