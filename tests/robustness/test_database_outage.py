"""PostgreSQL stops under a running service and comes back.

A PostgreSQL server of this test's own (the session one is shared, and must not go down) with its
own worker and API, against the session Temporal dev server. While the database is down: reads
answer 503 with the JSON error body, a change to an existing appointment is accepted by its
workflow and answers 503 (or 200) within the update timeout, a new appointment is refused with 503
and starts nothing, /health says the database is down. Once it is back, the projection activity's
retries bring the read model level with every workflow, the change made during the outage included.

Rerun: .venv/bin/python -m pytest tests/robustness/test_database_outage.py -q -s (-s prints timings)
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.auth.tokens import mint_token
from api.errors import DATABASE_UNAVAILABLE, database_unavailable
from api.workflow_gateway import UPDATE_TIMEOUT
from config.settings import to_sqlalchemy_url
from devstack.net import free_port
from devstack.postgres import EmbeddedPostgres
from devstack.smtp_sink import SmtpSink
from domain.access import Role
from domain.model import Appointment
from storage.appointments import AppointmentStore
from storage.database import create_engine
from storage.migrations import upgrade
from storage.read_connections import ReadsUnavailable
from tests.api.conftest import JWT_SECRET
from tests.support.requests import iso, schedule_body
from tests.support.secrets import session_settings
from tests.support.serving import running_service
from workflows.appointment import AppointmentWorkflow, workflow_id

CONVERGE_WITHIN = 60.0


@dataclass
class OutageStack:
    postgres: EmbeddedPostgres
    base_url: str
    temporal: Client
    engine: AsyncEngine  # the test's own view of the read model
    task_queue: str


@pytest.fixture
async def outage_stack(
    dev_server: WorkflowEnvironment, mail_sink: SmtpSink, tmp_path: Path
) -> AsyncIterator[OutageStack]:
    postgres = EmbeddedPostgres(tmp_path / "pg" / "data", database="outage", stop_with_owner=True)
    try:
        url = to_sqlalchemy_url(await asyncio.to_thread(postgres.start))
        await asyncio.to_thread(upgrade, url)
        port, task_queue = free_port(), f"db-outage-{uuid.uuid4()}"
        settings = session_settings(
            {
                "DATABASE_URL": url,
                "TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
                "TEMPORAL_TASK_QUEUE": task_queue,
                "HTTP_PORT": str(port),
                "ROOM_BASE_URL": "https://rooms.example.test",
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(mail_sink.port),
            }
        )
        worker_engine, test_engine = create_engine(url, pool_size=4), create_engine(url, pool_size=2)
        try:
            async with running_service(dev_server.client, settings, worker_engine) as base_url:
                yield OutageStack(
                    postgres=postgres,
                    base_url=base_url,
                    temporal=dev_server.client,
                    engine=test_engine,
                    task_queue=task_queue,
                )
        finally:
            await worker_engine.dispose()
            await test_engine.dispose()
    finally:
        await asyncio.to_thread(postgres.stop)


def _headers(*roles: Role, sub: str, application_id: str) -> dict[str, str]:
    token = mint_token(JWT_SECRET, sub=sub, roles=[r.value for r in roles], application_id=application_id)
    return {"Authorization": f"Bearer {token}"}


async def _timed(request: Any) -> tuple[httpx.Response, float]:
    began = time.monotonic()
    response = await request
    return response, time.monotonic() - began


def _assert_unavailable(response: httpx.Response, what: str) -> None:
    assert response.status_code == 503, f"{what}: {response.status_code} {response.text}"
    assert response.headers["content-type"].startswith("application/json"), what
    assert response.headers.get("retry-after"), what
    body = response.json()
    assert body["status"] == 503 and body["error"] == "Service Unavailable", (what, body)
    assert body["message"] == DATABASE_UNAVAILABLE, (what, body)


async def _workflow_state(client: Client, appointment_id: str) -> Appointment:
    handle = client.get_workflow_handle(workflow_id(appointment_id))
    return await handle.query(AppointmentWorkflow.appointment)


async def _converged(stack: OutageStack, ids: list[str]) -> bool:
    store = AppointmentStore(stack.engine)
    for appointment_id in ids:
        try:
            row = await store.get(appointment_id)
        except Exception:  # the database is still starting up
            return False
        if row != await _workflow_state(stack.temporal, appointment_id):
            return False
    return True


@dataclass
class Tenant:
    application_id: str
    agent: dict[str, str]
    supervisor: dict[str, str]
    client_service: dict[str, str]
    admin: dict[str, str]

    @classmethod
    def new(cls) -> Tenant:
        application_id = str(uuid.uuid4())

        def headers(role: Role) -> dict[str, str]:
            sub = "agent-outage" if role is Role.AGENT else f"{role.value.lower()}-outage"
            return _headers(role, sub=sub, application_id=application_id)

        return cls(
            application_id,
            headers(Role.AGENT),
            headers(Role.SUPERVISOR),
            headers(Role.CLIENT_SERVICE),
            headers(Role.ADMIN),
        )


async def _reads_answer_503(http: httpx.AsyncClient, tenant: Tenant, appointment_id: str) -> float:
    """Every kind of read, each a 503 with the JSON error body; returns the slowest one's time."""
    window = {"applicationId": tenant.application_id, "start": iso(datetime.now(UTC))}
    application = f"/api/applications/{tenant.application_id}"
    reads = {
        "get": lambda: http.get(f"/api/appointments/{appointment_id}", headers=tenant.agent),
        "list": lambda: http.get("/api/appointments/", headers=tenant.supervisor),
        "count": lambda: http.get("/api/appointments/count", params={**window, "timeFrame": "P7D"}),
        "overlap count": lambda: http.get(
            "/api/appointments/overlap/count", params={**window, "duration": "P7D"}
        ),
        "eligible": lambda: http.get("/api/appointments/eligible", headers=tenant.client_service),
        "participant": lambda: http.get(
            f"/api/appointments/{appointment_id}/participants/agent-outage", headers=tenant.agent
        ),
        "google event": lambda: http.get(f"/api/cal/events/google/{appointment_id}/event"),
        "ical event": lambda: http.get(f"/api/cal/events/ical/{appointment_id}/event"),
        "settings": lambda: http.get(f"{application}/settings", headers=tenant.admin),
        "webhooks": lambda: http.get(f"{application}/webhooks", headers=tenant.admin),
    }
    slowest = 0.0
    for what, request in reads.items():
        response, took = await _timed(request())
        _assert_unavailable(response, what)
        slowest = max(slowest, took)
    return slowest


async def _nothing_else_started(stack: OutageStack, tenant: Tenant, ids: list[str]) -> None:
    """The tenant has exactly the workflows and read-model rows of `ids`."""
    query = f"ApplicationId = '{tenant.application_id}'"
    started = [w.id async for w in stack.temporal.list_workflows(query)]
    assert sorted(started) == sorted(workflow_id(i) for i in ids)
    async with stack.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT count(*) FROM appointments WHERE application_id = :a"),
            {"a": tenant.application_id},
        )
        assert rows.scalar_one() == len(ids)


async def _converge(stack: OutageStack, ids: list[str]) -> float:
    """Wait until the read model equals every workflow's state; returns how long that took."""
    began = time.monotonic()
    while not await _converged(stack, ids):
        assert time.monotonic() - began < CONVERGE_WITHIN, "the read model did not converge"
        await asyncio.sleep(0.25)
    return time.monotonic() - began


async def test_reads_503_writes_wait_and_the_read_model_converges_after_a_database_outage(
    outage_stack: OutageStack,
) -> None:
    stack, tenant = outage_stack, Tenant.new()
    timings: dict[str, float] = {}
    base = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)

    async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as http:
        created = []
        for n in range(3):
            body = schedule_body(start=base + timedelta(hours=n))
            response = await http.post("/api/appointments/", json=body, headers=tenant.agent)
            assert response.status_code == 200, response.text
            created.append(response.json())
        ids = [a["id"] for a in created]
        first = ids[0]

        began = time.monotonic()
        await asyncio.to_thread(stack.postgres.stop)
        timings["postgres stop"] = time.monotonic() - began
        assert not stack.postgres.is_running()
        outage_began = time.monotonic()

        timings["slowest read -> 503"] = await _reads_answer_503(http, tenant, first)

        # A change to an existing appointment: its workflow accepts it and waits for the
        # projection, which retries; the API gives up after the update timeout.
        new_start = base + timedelta(days=1)
        reschedule = {
            "id": first,
            "start": iso(new_start),
            "duration": "PT30M",
            "timezone": "Europe/Berlin",
            "locale": "en-GB",
        }
        response, took = await _timed(
            http.put("/api/appointments/reschedule", json=reschedule, headers=tenant.agent)
        )
        timings[f"reschedule -> {response.status_code}"] = took
        assert response.status_code in (200, 503), response.text
        assert took < UPDATE_TIMEOUT.total_seconds() + 5
        if response.status_code == 503:
            assert "may still apply" in response.json()["message"], response.text
            assert response.headers.get("retry-after")
        # The change is durable in the workflow although the read model cannot have it yet.
        during = await _workflow_state(stack.temporal, first)
        assert during.start == new_start and during.version == created[0]["version"] + 1

        # A new appointment: its application's settings cannot be read, so nothing starts.
        response, took = await _timed(
            http.post("/api/appointments/", json=schedule_body(start=base), headers=tenant.agent)
        )
        timings["new appointment -> 503"] = took
        _assert_unavailable(response, "schedule")

        response = await http.get("/health")
        assert response.status_code == 503, response.text
        health = response.json()
        assert health["database"].startswith("down") and health["temporal"] == "up", health
        timings["outage"] = time.monotonic() - outage_began

        # PostgreSQL comes back on the same data directory.
        began = time.monotonic()
        await asyncio.to_thread(stack.postgres.start)
        timings["postgres start"] = time.monotonic() - began
        timings["read model converged after restart"] = await _converge(stack, ids)

        moved = await http.get(f"/api/appointments/{first}", headers=tenant.agent)
        assert moved.status_code == 200, moved.text
        assert moved.json()["start"] == iso(new_start) and moved.json()["duration"] == "PT30M"
        assert (await http.get("/health")).status_code == 200
        await _nothing_else_started(stack, tenant, ids)

    for appointment_id in ids:
        await stack.temporal.get_workflow_handle(workflow_id(appointment_id)).terminate("test done")
    print("\ndatabase outage timings (s):", {k: round(v, 2) for k, v in timings.items()})


# -- which errors are an outage (503) and which a bug (500) --------------------------------------


def _wrapped(driver_error: Exception, sqlalchemy_error: type[sa_exc.DBAPIError]) -> sa_exc.DBAPIError:
    try:
        raise sqlalchemy_error("SELECT 1", {}, driver_error) from driver_error
    except sa_exc.DBAPIError as error:
        return error


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        _wrapped(asyncpg.CannotConnectNowError("starting up"), sa_exc.DBAPIError),
        _wrapped(asyncpg.InterfaceError("connection is closed"), sa_exc.InterfaceError),
        _wrapped(ConnectionResetError(), sa_exc.OperationalError),
        sa_exc.TimeoutError("QueuePool limit of size 10 overflow 10 reached"),
        ReadsUnavailable("no database connection came free within 5 s"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_connection_level_errors_are_an_outage(error: Exception) -> None:
    assert database_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        _wrapped(asyncpg.UniqueViolationError("duplicate key"), sa_exc.IntegrityError),
        _wrapped(asyncpg.PostgresSyntaxError("syntax error"), sa_exc.ProgrammingError),
        asyncpg.UndefinedTableError('relation "nope" does not exist'),
        sa_exc.ArgumentError("bad argument"),
        FileNotFoundError("templates/missing.html"),  # an OSError, but not from the database
        ValueError("a bug"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_statement_errors_and_bugs_are_not(error: Exception) -> None:
    assert not database_unavailable(error)
