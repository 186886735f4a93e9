"""`GET /metrics` for Prometheus, behind `Authorization: Bearer <settings.METRICS_TOKEN>`.

The page joins django-prometheus's request and database metrics (this process's, or every web
process's with PROMETHEUS_MULTIPROC_DIR) with gauges of the platform's own state, read from
the database at each scrape through the bounded reads of xmplatform.ops.selectors. A group
of gauges whose read fails (say, a statement timeout) is left out of that scrape and logged.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
from collections.abc import Callable, Iterator

import prometheus_client
from django.conf import settings
from django.db import Error as DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector, CollectorRegistry

from xmplatform.ops import selectors

logger = logging.getLogger(__name__)

SEND_WINDOW = dt.timedelta(minutes=5)


def _outbox(now: dt.datetime) -> Iterator[Metric]:
    rows = GaugeMetricFamily(
        "xm_outbox_messages",
        "Outbox rows by state: pending (owed to a handler) and dead (failed every attempt).",
        labels=["state"],
    )
    for state, count in selectors.outbox_counts().items():
        rows.add_metric([state], count)
    yield rows
    yield GaugeMetricFamily(
        "xm_outbox_oldest_pending_seconds",
        "Seconds since the oldest pending outbox row was written (0: none pending).",
        value=selectors.outbox_oldest_pending_age(now=now),
    )
    yield GaugeMetricFamily(
        "xm_outbox_due_lag_seconds",
        "Seconds the longest-due pending outbox row has waited for the relay (0: none due).",
        value=selectors.outbox_due_lag(now=now),
    )


def _invitations(now: dt.datetime) -> Iterator[Metric]:
    counts = GaugeMetricFamily(
        "xm_invitations",
        "Invitations by state: exact up to 10000, past that PostgreSQL's estimate.",
        labels=["state"],
    )
    for state, count in selectors.invitation_counts().items():
        counts.add_metric([state], count)
    yield counts
    yield GaugeMetricFamily(
        "xm_messages_sent_5m",
        "Survey messages (invitations and reminders) sent in the last five minutes.",
        value=selectors.messages_sent_since(now - SEND_WINDOW),
    )


def _rollups(now: dt.datetime) -> Iterator[Metric]:
    lag_days, age = selectors.rollup_state(now=now)
    if lag_days is not None:
        yield GaugeMetricFamily(
            "xm_rollup_lag_days",
            "Days from the daily rollups' watermark to today (1 when current).",
            value=lag_days,
        )
    if age is not None:
        yield GaugeMetricFamily(
            "xm_rollup_last_run_seconds",
            "Seconds since the daily rollups last ran.",
            value=age,
        )


def _beat(now: dt.datetime) -> Iterator[Metric]:
    ago = selectors.beat_last_run(now=now)
    if ago is not None:
        yield GaugeMetricFamily(
            "xm_beat_last_run_seconds",
            "Seconds since beat last sent a periodic task (recorded every three minutes).",
            value=ago,
        )


GROUPS: tuple[Callable[[dt.datetime], Iterator[Metric]], ...] = (
    _outbox,
    _invitations,
    _rollups,
    _beat,
)


class PlatformCollector(Collector):
    """The platform's gauges, read from the database when collected."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        for group in GROUPS:
            try:
                with selectors.bounded_reads():
                    metrics = list(group(now))
            except DatabaseError:
                logger.warning("metrics: %s left out of this scrape", group.__name__, exc_info=True)
                continue
            yield from metrics


def _process_registry() -> Collector:
    """django-prometheus's metrics: every process's through the shared directory, if set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return prometheus_client.REGISTRY


def authorized(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(
        given.strip().encode(), token.encode()
    )


def metrics_page(request: HttpRequest) -> HttpResponse:
    """The metrics for a scraper holding METRICS_TOKEN; 404 where no token is configured."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404
    if not authorized(request, token):
        response = HttpResponse(status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    platform = CollectorRegistry(auto_describe=False)
    platform.register(PlatformCollector())
    body = prometheus_client.generate_latest(_process_registry())
    body += prometheus_client.generate_latest(platform)
    response = HttpResponse(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response["Cache-Control"] = "no-store"
    return response
