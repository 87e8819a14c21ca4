"""The worker's metrics on WORKER_METRICS_PORT, scraped after a real run: the Temporal SDK's
and the service's own (domain.metric_names), every one the dashboard and the alerts name.

The worker connects the way `python worker.py` does (`connect_temporal`: its own SDK runtime with
a Prometheus endpoint) to the session's Temporal dev server. A Runtime starts threads and a
metrics server and cannot be created many times per process: one for this module.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowHandle
from temporalio.common import MetricMeter
from temporalio.testing import WorkflowEnvironment

from config import Settings
from config.settings import to_sqlalchemy_url
from devstack.net import free_port
from devstack.smtp_sink import SmtpSink
from domain.access import Role
from domain.activity_names import RECORD_CHANGE
from domain.commands import SCHEDULE
from domain.metric_names import (
    APPOINTMENTS_SCHEDULED,
    EMAILS,
    PROJECTION_FAILURES,
    REMINDER_LATENESS,
    WEBHOOK_DELIVERIES,
    WORKER_GC_PAUSE,
    Source,
    exported_series,
)
from domain.model import Appointment, WorkflowPolicy
from domain.notifications import NotificationPolicy, NotificationType, Template
from domain.workflow_state import AppointmentState
from storage.database import create_engine
from storage.webhooks import WebhookStore
from tests.support.factories import new_appointment, principal
from tests.support.metrics import exposed_names
from tests.support.receiver import Receiver
from tests.support.secrets import session_settings
from tests.support.smtp import refusing_smtp_server
from tests.support.updates import update
from worker import build_worker, connect_temporal
from worker_host import runtime_meter
from worker_host.gc_pauses import GcPauses, recording_gc_pauses
from workflows.appointment import AppointmentWorkflow, workflow_id


@dataclass(frozen=True)
class MetricsWorker:
    client: Client
    settings: Settings

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.worker_metrics_port}/metrics"


@pytest.fixture(scope="module")
async def metrics_worker(
    dev_server: WorkflowEnvironment, mail_sink: SmtpSink
) -> AsyncIterator[MetricsWorker]:
    settings = session_settings(
        {
            "TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
            "WORKER_METRICS_PORT": str(free_port()),
            "ROOM_BASE_URL": "https://rooms.example.test",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(mail_sink.port),
            "WEBHOOKS_ALLOW_LOOPBACK": "true",
        }
    )
    client = await connect_temporal(settings)
    # As the worker's `main` does: this process's collections, on the runtime's endpoint.
    with recording_gc_pauses(runtime_meter(client)):
        yield MetricsWorker(client, settings)


async def _scrape(url: str, wanted: str) -> str:
    """The metrics page once it shows `wanted` (the SDK may export a moment after the fact)."""
    text = ""
    async with httpx.AsyncClient(trust_env=False, timeout=5) as http:
        for _ in range(60):
            text = (await http.get(url)).text
            if wanted in text:
                return text
            await asyncio.sleep(0.25)
    raise AssertionError(f"{wanted!r} not on {url}:\n{text[:2000]}")


async def test_the_worker_serves_temporal_sdk_metrics(
    metrics_worker: MetricsWorker, engine: AsyncEngine, task_queue: str
) -> None:
    client, settings = metrics_worker.client, metrics_worker.settings
    appointment = new_appointment(principal(Role.AGENT))
    async with build_worker(client, settings, engine, task_queue=task_queue):
        handle = await client.start_workflow(
            AppointmentWorkflow.run,
            AppointmentState(appointment=appointment, policy=WorkflowPolicy(end_grace=timedelta(minutes=10))),
            id=workflow_id(appointment.id),
            task_queue=task_queue,
        )
        try:
            # Runs a workflow task and the projection (a local activity) on this worker.
            await update(handle, SCHEDULE)
            queue = f'task_queue="{task_queue}"'
            text = await _scrape(metrics_worker.url, "temporal_local_activity_execution_latency_count{")
            await _scrape(metrics_worker.url, queue)
        finally:
            await handle.terminate("metrics test done")

    assert "temporal_request" in text  # client calls (StartWorkflowExecution, ...)
    assert any(
        line.startswith("temporal_workflow_task_execution_latency") and queue in line
        for line in text.splitlines()
    )
    assert any(
        line.startswith("temporal_local_activity_execution_latency")
        and f'activity_type="{RECORD_CHANGE}"' in line
        for line in text.splitlines()
    )


async def test_a_full_collection_shows_as_a_pause_of_generation_2(metrics_worker: MetricsWorker) -> None:
    count = f"{WORKER_GC_PAUSE.name}_count"
    async with httpx.AsyncClient(trust_env=False, timeout=5) as http:
        before = _total(_samples((await http.get(metrics_worker.url)).text), count, generation="2")
    gc.collect()
    after = await _scrape_until(
        metrics_worker.url, lambda samples: _total(samples, count, generation="2") > before
    )
    assert _total(after, count, generation="2") > before
    assert _total(after, f"{WORKER_GC_PAUSE.name}_sum", generation="2") > 0
    # Pauses are seconds, in the buckets made for them rather than the SDK's milliseconds.
    assert (f"{WORKER_GC_PAUSE.name}_bucket", frozenset({("generation", "2"), ("le", "0.001")})) in {
        (name, frozenset((k, v) for k, v in labels if k in {"generation", "le"})) for name, labels in after
    }


def test_gc_pauses_are_recorded_only_while_the_block_runs() -> None:
    def recorders() -> int:
        return sum(isinstance(callback, GcPauses) for callback in gc.callbacks)

    before = recorders()
    with recording_gc_pauses(MetricMeter.noop):
        assert recorders() == before + 1
        gc.collect()
    assert recorders() == before


POLICY = WorkflowPolicy(end_grace=timedelta(minutes=10))
WEBHOOK_SECRET = "whsec-metrics-0123456789abcdef"
# Series: name and labels, to value.
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _total(samples: Samples, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(value for (series, found), value in samples.items() if series == name and wanted <= found)


async def _scrape_until(url: str, done: Callable[[Samples], bool]) -> Samples:
    """The metrics once `done` holds of them: the SDK exports a moment after the fact."""
    samples: Samples = {}
    async with httpx.AsyncClient(trust_env=False, timeout=5) as http:
        for _ in range(240):
            samples = _samples((await http.get(url)).text)
            if done(samples):
                return samples
            await asyncio.sleep(0.25)
    return samples


def _reminding_soon(appointment: Appointment, now: datetime) -> NotificationPolicy:
    """A reminder due two seconds from `now`, so that the run sends one without skipping time."""
    period = appointment.start - (now + timedelta(seconds=2))
    return NotificationPolicy(
        active=True,
        mail_from="Contact Center <cc@example.test>",
        templates=(
            Template(type=NotificationType.CREATE, subject="Booked", text_body="{{time24}}"),
            Template(type=NotificationType.REMINDER, subject="Soon", text_body="{{time24}}", period=period),
        ),
    )


async def test_every_worker_metric_of_the_catalogue_is_exported(
    metrics_worker: MetricsWorker, engine: AsyncEngine, receiver: Receiver, task_queue: str
) -> None:
    """Drives what each metric counts, on real servers: a schedule, a reminder, a refused email,
    a webhook delivered and one refused for good (given up), a read model that cannot be written."""
    client, settings = metrics_worker.client, metrics_worker.settings
    application = str(uuid.uuid4())
    agent = principal(Role.AGENT, application_id=application)
    webhooks = WebhookStore(engine)
    for path in ("/accepts", "/refuses"):
        await webhooks.create(application, receiver.url(path), ("*",), WEBHOOK_SECRET, {})
    receiver.statuses["/refuses"] = [400]
    unreachable = create_engine(to_sqlalchemy_url(f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"))
    handles: list[WorkflowHandle] = []

    async def start(appointment: Appointment, queue: str, notify: NotificationPolicy) -> None:
        handles.append(
            await client.start_workflow(
                AppointmentWorkflow.run,
                AppointmentState(appointment=appointment, policy=POLICY, notifications=notify),
                id=workflow_id(appointment.id),
                task_queue=queue,
            )
        )

    with refusing_smtp_server("550 5.1.1 no such mailbox") as (refusing_port, _):
        refused_settings = dataclasses.replace(settings, smtp_port=refusing_port)
        async with (
            build_worker(client, settings, engine, task_queue=task_queue),
            build_worker(client, refused_settings, engine, task_queue=f"{task_queue}-refused"),
            build_worker(client, settings, unreachable, task_queue=f"{task_queue}-no-database"),
        ):
            try:
                now = datetime.now(UTC)
                reminded = new_appointment(agent, start=now + timedelta(hours=1), now=now)
                await start(reminded, task_queue, _reminding_soon(reminded, now))
                await update(handles[-1], SCHEDULE)
                refused = new_appointment(agent, now=now)
                await start(refused, f"{task_queue}-refused", _reminding_soon(refused, now))
                # Its first record fails: no Update waits for it, the workflow keeps trying.
                unrecorded = new_appointment(agent, now=now)
                await start(unrecorded, f"{task_queue}-no-database", NotificationPolicy())

                def everything_counted(samples: Samples) -> bool:
                    return all(
                        (
                            _total(samples, APPOINTMENTS_SCHEDULED.name, organizer_type="AGENT") >= 3,
                            _total(samples, f"{REMINDER_LATENESS.name}_count") >= 1,
                            _total(samples, EMAILS.name, outcome="sent") >= 2,
                            _total(samples, EMAILS.name, outcome="refused") >= 1,
                            _total(samples, WEBHOOK_DELIVERIES.name, outcome="delivered") >= 1,
                            _total(samples, WEBHOOK_DELIVERIES.name, outcome="failed") >= 1,
                            _total(samples, WEBHOOK_DELIVERIES.name, outcome="dead") >= 1,
                            _total(samples, PROJECTION_FAILURES.name) >= 1,
                        )
                    )

                samples = await _scrape_until(metrics_worker.url, everything_counted)
            finally:
                for handle in handles:
                    await handle.terminate("metrics test done")
                await unreachable.dispose()

    assert everything_counted(samples), sorted({name for name, _ in samples})
    async with httpx.AsyncClient(trust_env=False, timeout=5) as http:
        exposed = exposed_names((await http.get(metrics_worker.url)).text)
    promised = set(exported_series(Source.WORKER))
    assert promised <= exposed, promised - exposed
    # Bounded labels only: no appointment, recipient or URL ever becomes one.
    labels = {key for _, found in samples for key, _ in found}
    assert labels.isdisjoint({"appointment_id", "workflow_id", "email", "url", "webhook_id"})
