"""The worker's Temporal SDK metrics on WORKER_METRICS_PORT, scraped after a real run.

The worker connects the way `python worker.py` does (`connect_temporal`: its own SDK runtime with
a Prometheus endpoint) to the session's Temporal dev server. A Runtime starts threads and a
metrics server and cannot be created many times per process: one for this module.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from config import Settings
from devstack.net import free_port
from devstack.smtp_sink import SmtpSink
from domain.access import Role
from domain.activity_names import RECORD_CHANGE
from domain.commands import SCHEDULE
from domain.model import WorkflowPolicy
from domain.workflow_state import AppointmentState
from tests.support.factories import new_appointment, principal
from tests.support.secrets import session_settings
from tests.support.updates import update
from worker import build_worker, connect_temporal
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
        }
    )
    yield MetricsWorker(await connect_temporal(settings), settings)


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
