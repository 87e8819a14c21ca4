"""Every metric the service exports that a dashboard panel or an alert rule may name.

One catalogue for the code that records the metrics (the API's registry, the activities and the
workflow through Temporal's metric meter), for deploy/ (the Grafana dashboard and the Prometheus
rules name nothing else: tests/unit/test_monitoring_files.py) and for the test that scrapes a real
API and worker and finds every one of them (tests/workflows/test_worker_metrics.py,
tests/api/test_metrics.py).

The Temporal SDK's own metrics keep the SDK's names: no `_total` suffix on counters, durations in
milliseconds (`PrometheusConfig` defaults, which the worker keeps). The service's own worker
metrics are named whole here, suffixes included, because the SDK's exporter adds none.
"""

from enum import StrEnum
from typing import NamedTuple


class Kind(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


class Source(StrEnum):
    """The process whose metrics endpoint exports the metric."""

    API = "api"  # METRICS_HOST:API_METRICS_PORT (api.metrics.HttpMetrics)
    WORKER = "worker"  # METRICS_HOST:WORKER_METRICS_PORT (the Temporal SDK runtime)


class Metric(NamedTuple):
    name: str
    kind: Kind
    source: Source
    help: str

    @property
    def series(self) -> frozenset[str]:
        """The names of the series Prometheus stores for it."""
        if self.kind is Kind.HISTOGRAM:
            return frozenset(f"{self.name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
        return frozenset({self.name})


# -- the API (prometheus_client) ----------------------------------------------------------------

HTTP_REQUESTS = Metric(
    "http_requests_total",
    Kind.COUNTER,
    Source.API,
    "HTTP requests answered, by method, route template and status code.",
)
HTTP_REQUEST_DURATION = Metric(
    "http_request_duration_seconds",
    Kind.HISTOGRAM,
    Source.API,
    "Time from routing a request to the last byte of its response, by method and route template.",
)

# -- the service's own, recorded on the worker through Temporal's metric meter --------------------

# Labels: organizer_type (AGENT, CUSTOMER). Counted by the workflow's first run.
APPOINTMENTS_SCHEDULED = Metric(
    "appointments_scheduled_total",
    Kind.COUNTER,
    Source.WORKER,
    "Appointments scheduled: workflows started, by the type of their organizer.",
)
# Its _count is the number of reminders sent (to at least one recipient).
REMINDER_LATENESS = Metric(
    "appointments_reminder_lateness_seconds",
    Kind.HISTOGRAM,
    Source.WORKER,
    "Seconds from a reminder's due time until the SMTP server took it.",
)
# Labels: outcome (sent, refused: a permanent refusal, never retried; deferred: the server was
# unreachable or answered 4xx, retried; unsendable: the message cannot be composed).
EMAILS = Metric(
    "appointments_emails_total",
    Kind.COUNTER,
    Source.WORKER,
    "Notification emails by outcome, one per recipient and attempt.",
)
# Labels: outcome (delivered, failed: one attempt that did not reach a 2xx; dead: a delivery
# given up, after its last attempt, expired or dropped from a full queue).
WEBHOOK_DELIVERIES = Metric(
    "appointments_webhook_deliveries_total",
    Kind.COUNTER,
    Source.WORKER,
    "Webhook delivery attempts by outcome, and deliveries given up (dead).",
)
PROJECTION_FAILURES = Metric(
    "appointments_projection_failures_total",
    Kind.COUNTER,
    Source.WORKER,
    "Attempts to write the read model (and the webhook events) that failed.",
)

# Labels: generation (0, 1, 2; a full collection is 2). Recorded by the worker process itself
# (worker_host.gc_pauses), not by a workflow or an activity.
WORKER_GC_PAUSE = Metric(
    "appointments_worker_gc_pause_seconds",
    Kind.HISTOGRAM,
    Source.WORKER,
    "Seconds the worker's Python process stood still collecting garbage, by generation.",
)

# Buckets of these histograms (seconds): the SDK's default buckets are made for milliseconds.
REMINDER_LATENESS_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0)
GC_PAUSE_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)

# -- the Temporal SDK's, as its Prometheus exporter names them ------------------------------------

WORKFLOW_TASK_SCHEDULE_TO_START = Metric(
    "temporal_workflow_task_schedule_to_start_latency",
    Kind.HISTOGRAM,
    Source.WORKER,
    "Milliseconds a workflow task waited in its task queue for a worker.",
)
WORKFLOW_TASK_EXECUTION = Metric(
    "temporal_workflow_task_execution_latency",
    Kind.HISTOGRAM,
    Source.WORKER,
    "Milliseconds a worker spent on a workflow task.",
)
ACTIVITY_SCHEDULE_TO_START = Metric(
    "temporal_activity_schedule_to_start_latency",
    Kind.HISTOGRAM,
    Source.WORKER,
    "Milliseconds an activity task waited in its task queue for a worker.",
)
ACTIVITY_EXECUTION_FAILED = Metric(
    "temporal_activity_execution_failed",
    Kind.COUNTER,
    Source.WORKER,
    "Activity attempts that failed, by activity_type.",
)
LOCAL_ACTIVITY_EXECUTION_FAILED = Metric(
    "temporal_local_activity_execution_failed",
    Kind.COUNTER,
    Source.WORKER,
    "Local activity attempts (record_change) that failed.",
)
STICKY_CACHE_SIZE = Metric(
    "temporal_sticky_cache_size", Kind.GAUGE, Source.WORKER, "Workflows held in the worker's cache."
)
STICKY_CACHE_HIT = Metric(
    "temporal_sticky_cache_hit",
    Kind.COUNTER,
    Source.WORKER,
    "Workflow tasks whose workflow was in the cache (no replay).",
)
WORKER_TASK_SLOTS_AVAILABLE = Metric(
    "temporal_worker_task_slots_available",
    Kind.GAUGE,
    Source.WORKER,
    "Free task slots of the worker, by worker_type.",
)

CATALOGUE: tuple[Metric, ...] = (
    HTTP_REQUESTS,
    HTTP_REQUEST_DURATION,
    APPOINTMENTS_SCHEDULED,
    REMINDER_LATENESS,
    EMAILS,
    WEBHOOK_DELIVERIES,
    PROJECTION_FAILURES,
    WORKER_GC_PAUSE,
    WORKFLOW_TASK_SCHEDULE_TO_START,
    WORKFLOW_TASK_EXECUTION,
    ACTIVITY_SCHEDULE_TO_START,
    ACTIVITY_EXECUTION_FAILED,
    LOCAL_ACTIVITY_EXECUTION_FAILED,
    STICKY_CACHE_SIZE,
    STICKY_CACHE_HIT,
    WORKER_TASK_SLOTS_AVAILABLE,
)


def exported_series(source: Source | None = None) -> dict[str, Metric]:
    """Every series name the catalogue promises (of one process, or of both), to its metric."""
    return {
        series: metric
        for metric in CATALOGUE
        if source is None or metric.source is source
        for series in metric.series
    }
