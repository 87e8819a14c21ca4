"""The whole service over real HTTP: uvicorn serving the app, a worker, the Temporal dev
server and PostgreSQL, shared by every API test of the session."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.auth.tokens import mint_token
from config import Settings
from devstack.net import free_port
from devstack.smtp_sink import SmtpSink
from domain.access import Role
from domain.rate_limits import ALL_LIMITS
from tests.support.secrets import JWT_SECRET, session_settings
from tests.support.serving import running_service


@dataclass(frozen=True)
class Stack:
    settings: Settings
    base_url: str
    temporal: Client
    engine: AsyncEngine
    mail: SmtpSink


@pytest.fixture(scope="session")
async def stack(
    dev_server: WorkflowEnvironment, database_url: str, engine: AsyncEngine, mail_sink: SmtpSink
) -> AsyncIterator[Stack]:
    port = free_port()
    settings = session_settings(
        {
            "DATABASE_URL": database_url,
            "TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
            "TEMPORAL_TASK_QUEUE": f"api-tests-{uuid.uuid4()}",
            "HTTP_PORT": str(port),
            "ROOM_BASE_URL": "https://rooms.example.test",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(mail_sink.port),
            "WEBHOOKS_ALLOW_LOOPBACK": "true",
            "API_METRICS_PORT": str(free_port()),
            # Every test calls from 127.0.0.1: the session's stack lets them all through, and
            # tests/api/test_abuse_limits.py holds the default limits on a stack of its own.
            "RATE_LIMITS": ",".join(f"{limit.name}=1000000" for limit in ALL_LIMITS),
        }
    )
    async with running_service(dev_server.client, settings, engine) as base_url:
        yield Stack(
            settings=settings, base_url=base_url, temporal=dev_server.client, engine=engine, mail=mail_sink
        )


@pytest.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as client:
        yield client


TokenFactory = Callable[..., dict[str, str]]


@pytest.fixture
def application_id() -> str:
    """A fresh tenant per test, so tests never see each other's appointments."""
    return str(uuid.uuid4())


@pytest.fixture
def auth(application_id: str) -> TokenFactory:
    """`auth(Role.AGENT, sub=..., application_id=..., conference_id=...)` -> request headers."""

    def headers(
        *roles: Role,
        sub: str | None = None,
        application_id: str = application_id,
        conference_id: str | None = None,
    ) -> dict[str, str]:
        token = mint_token(
            JWT_SECRET,
            sub=sub or str(uuid.uuid4()),
            roles=[r.value for r in roles],
            application_id=application_id,
            conference_id=conference_id,
        )
        return {"Authorization": f"Bearer {token}"}

    return headers
