"""A time-skipping Temporal test server and a worker with the real activities, per test.

One server per test: time is global on it, and a workflow left behind by an earlier test
(whose worker is gone) would keep it from skipping.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from devstack.smtp_sink import SmtpSink
from tests.support.secrets import session_settings
from tests.support.stack import (
    SANDBOXED,
    register_search_attributes,
    service_data_converter,
    temporal_test_server,
)
from worker import build_worker


@pytest.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=temporal_test_server(), data_converter=service_data_converter()
    )
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest.fixture
async def worker(
    time_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str, mail_sink: SmtpSink
) -> AsyncIterator[Worker]:
    settings = session_settings(
        {
            "ROOM_BASE_URL": "https://rooms.example.test",
            "SMTP_PORT": str(mail_sink.port),
            "PUBLIC_BASE_URL": "https://api.example.test",
            **SANDBOXED,
        }
    )
    async with build_worker(time_env.client, settings, engine, task_queue=task_queue) as running:
        yield running
