"""The Temporal SDK runtime of a process: its Prometheus metrics and where its core logs go.

The SDK's Rust core logs to stderr in its own format unless told otherwise; here its warnings
and errors are forwarded to the Python logger `temporalio.core`, so they come out as JSON lines
like everything else. The worker's runtime also serves the SDK's own metrics
(`temporal_workflow_completed`, `temporal_activity_execution_latency`, `temporal_request`, ...)
on `http://METRICS_HOST:WORKER_METRICS_PORT/metrics`, and the service's own that the workflow and
the activities record through the SDK's metric meter (domain.metric_names).

Each Runtime starts its own thread pool (and metrics server): create one per process.
"""

from __future__ import annotations

import logging

from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from config import Settings
from domain.metric_names import (
    GC_PAUSE_BUCKETS,
    REMINDER_LATENESS,
    REMINDER_LATENESS_BUCKETS,
    WORKER_GC_PAUSE,
)

CORE_LOGGER = "temporalio.core"


def _core_logging() -> LoggingConfig:
    return LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=LogForwardingConfig(logger=logging.getLogger(CORE_LOGGER), append_target_to_name=False),
    )


def metrics_address(port: int, host: str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def worker_runtime(settings: Settings) -> Runtime:
    """Core logs forwarded; Prometheus metrics on METRICS_HOST:WORKER_METRICS_PORT unless it is 0."""
    port = settings.worker_metrics_port
    metrics = (
        PrometheusConfig(
            bind_address=metrics_address(port, settings.metrics_host),
            histogram_bucket_overrides={
                REMINDER_LATENESS.name: REMINDER_LATENESS_BUCKETS,
                WORKER_GC_PAUSE.name: GC_PAUSE_BUCKETS,
            },
        )
        if port
        else None
    )
    return Runtime(telemetry=TelemetryConfig(logging=_core_logging(), metrics=metrics))


def forward_core_logs() -> None:
    """Make the default runtime (used by clients connected without one) forward core logs.

    Call once, at the start of the process, before the first client connects.
    """
    Runtime.set_default(
        Runtime(telemetry=TelemetryConfig(logging=_core_logging())), error_if_already_set=False
    )
