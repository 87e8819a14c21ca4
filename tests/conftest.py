"""Session-wide real servers shared by the workflow, API and replay tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from config.settings import to_sqlalchemy_url
from devstack.postgres import EmbeddedPostgres
from devstack.smtp_sink import SmtpSink
from devstack.temporal import dynamic_config_args
from storage.database import create_engine
from storage.migrations import upgrade
from tests.support.receiver import Receiver, start_receiver
from tests.support.stack import service_data_converter, temporal_cli
from workflows.search import ALL_KEYS


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database: DATABASE_URL when set, else an embedded server in a temp dir."""
    existing = os.environ.get("DATABASE_URL")
    if existing:
        url = to_sqlalchemy_url(existing)
        upgrade(url)
        yield url
        return
    server = EmbeddedPostgres(
        Path(tmp_path_factory.mktemp("pg")) / "data", database="appointments_test", stop_with_owner=True
    )
    url = to_sqlalchemy_url(server.start())
    try:
        upgrade(url)
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (the one `make run` uses), with our search attributes."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        data_converter=service_data_converter(),
        search_attributes=ALL_KEYS,
        dev_server_extra_args=dynamic_config_args(),
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def mail_sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) that keeps every message as a file the tests read."""
    sink = SmtpSink(tmp_path_factory.mktemp("mail"), port=0)
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4()}"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A real HTTP receiver of webhooks on loopback (tests/support/receiver.py)."""
    receiver, server, task = await start_receiver()
    yield receiver
    server.should_exit = True
    server.force_exit = True  # a hanging request must not hold the test up
    await task
