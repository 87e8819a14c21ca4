"""The service's own metrics, recorded by the activities through Temporal's metric meter: they
come out on the worker's Prometheus endpoint with the SDK's (labels `activity_type`, `namespace`,
`task_queue` added by the meter). Names and meanings: domain.metric_names.

Called outside an activity (the activities' methods run directly, as some tests do), they record
nothing, as `heartbeating` sends no heartbeats there.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import activity
from temporalio.common import MetricMeter

from domain.metric_names import EMAILS, PROJECTION_FAILURES, REMINDER_LATENESS, WEBHOOK_DELIVERIES


def _meter() -> MetricMeter:
    return activity.metric_meter() if activity.in_activity() else MetricMeter.noop


def count_email(outcome: str) -> None:
    _meter().create_counter(EMAILS.name, EMAILS.help).add(1, {"outcome": outcome})


def reminder_sent(due: datetime, sent: datetime) -> None:
    """A reminder the SMTP server took at `sent`: how late it went out (0 when early)."""
    late = max((sent - due).total_seconds(), 0.0)
    _meter().create_histogram_float(REMINDER_LATENESS.name, REMINDER_LATENESS.help, "s").record(late)


def count_webhook_attempt(status: int | None) -> None:
    outcome = "delivered" if status is not None and 200 <= status < 300 else "failed"
    _meter().create_counter(WEBHOOK_DELIVERIES.name, WEBHOOK_DELIVERIES.help).add(1, {"outcome": outcome})


def count_projection_failure() -> None:
    _meter().create_counter(PROJECTION_FAILURES.name, PROJECTION_FAILURES.help).add(1)
