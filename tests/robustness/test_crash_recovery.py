"""Crash recovery with real processes: a SIGKILLed worker and a stopped, then SIGKILLed, Temporal
dev server lose nothing, duplicate nothing and make no reminder more than a minute late.

The test owns its whole stack except PostgreSQL (the session's): a Temporal dev server on a temp
SQLite file, an SMTP sink, the API in-process (uvicorn) and the worker as an `appointments worker`
subprocess. Ten appointments have reminders due between 15 and 40 s after T0 (`REMINDER_DUE`):

1. T0: the ten are scheduled at once (`POST`); as soon as the first answers, the worker is
   SIGKILLed with the other updates in flight, and a new worker starts `WORKER_DOWN` s later.
   A `POST` caught by the crash may answer 503 ("may still apply"): as a client would, the test
   retries it with the same `Idempotency-Key`, and every one must end in 200.
2. T0+18: the worker is SIGKILLed the moment that reminder is being sent (before the
   sink receives it); the next reminder falls due while no worker runs; a new one starts.
3. T0+30: likewise, but the Temporal dev server is stopped (SIGTERM) and started again on the
   same SQLite file and port; a reminder falls due while it is down.
4. T0+36: likewise, but the Temporal dev server is SIGKILLed.

Then, once no workflow has anything in flight: every appointment answers `GET`, its read-model row
equals the workflow's state (query `appointment`), each customer got exactly one CREATE and one
REMINDER mail, `notification_log` holds one SENT row per mail, and no reminder arrived more than
a minute after it was due. No process the test started is left running.

Rerun: `.venv/bin/python -m pytest tests/robustness/test_crash_recovery.py -q -s` (`-s` prints the
timeline and the measured numbers); last results in docs/robustness.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

from api.app import create_app
from api.auth.tokens import mint_token
from config import Settings
from devstack.net import free_port
from devstack.smtp_sink import SmtpSink
from devstack.temporal import TemporalDevServer
from domain.access import Role
from domain.notifications import ApplicationSettings, NotificationType, Template
from storage.applications import ApplicationStore
from storage.appointments import AppointmentStore
from temporal_access.client import connect
from tests.support.histories import pending_work
from tests.support.processes import ServiceProcess
from tests.support.requests import schedule_body
from tests.support.secrets import JWT_SECRET, TEST_SECRETS, session_settings
from workflows.appointment import AppointmentWorkflow, workflow_id

# When each appointment's reminder falls due, in seconds after T0 (its start is a minute later):
# at each crash one reminder is being sent, the next falls due while the process is down.
REMINDER_DUE = (15, 18, 20, 23, 26, 30, 31, 36, 37, 40)
KILL_WORKER_AT = 18
STOP_TEMPORAL_AT = 30
KILL_TEMPORAL_AT = 36
WORKER_DOWN = 3.0  # seconds between a worker's death and its successor's start
TEMPORAL_DOWN = 2.0
LATE_LIMIT = timedelta(minutes=1)  # the promise of docs/notifications.md
TEMPLATES = (
    Template(type=NotificationType.CREATE, subject="Booked {{title}}", text_body="See you {{time24}}"),
    Template(
        type=NotificationType.REMINDER,
        subject="Soon {{title}}",
        text_body="At {{time24}}",
        period=timedelta(minutes=1),
    ),
)
KINDS = (NotificationType.CREATE.value, NotificationType.REMINDER.value)


def log(message: str) -> None:
    print(f"[crash-recovery {datetime.now(UTC):%H:%M:%S.%f}] {message}", flush=True)


async def start_worker(worker: ServiceProcess) -> None:
    await worker.start()
    log(f"worker #{worker.generation} polling (pid {worker.pid})")


def kill_worker(worker: ServiceProcess) -> None:
    worker.kill()
    log(f"worker #{worker.generation} SIGKILLed (pid {worker.pid})")


@dataclass
class TemporalProcesses:
    """Successive dev servers on one SQLite file and one port; the newest is serving."""

    db_file: Path
    log_file: Path
    port: int
    servers: list[TemporalDevServer] = field(default_factory=list)

    async def start(self) -> None:
        server = TemporalDevServer(
            db_file=self.db_file, port=self.port, headless=True, log_file=self.log_file
        )
        self.servers.append(server)
        began = time.monotonic()
        await asyncio.to_thread(server.start)
        log(f"temporal #{len(self.servers)} up (pid {server.pid}) after {time.monotonic() - began:.1f} s")

    async def stop(self) -> None:
        await asyncio.to_thread(self.servers[-1].stop)
        log(f"temporal #{len(self.servers)} stopped")

    async def kill(self) -> None:
        server = self.servers[-1]
        pid = server.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        await asyncio.to_thread(server.stop)  # reaps it
        log(f"temporal #{len(self.servers)} SIGKILLed (pid {pid})")

    def close(self) -> None:
        for server in self.servers:
            if server.is_running() and server.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(server.pid, signal.SIGKILL)
            server.stop()


@dataclass
class Rig:
    http: httpx.AsyncClient
    client: Client
    engine: AsyncEngine
    sink: SmtpSink
    worker: ServiceProcess
    temporal: TemporalProcesses
    agent: dict[str, str]


@contextlib.asynccontextmanager
async def serve_api(settings: Settings) -> AsyncIterator[str]:
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=settings.http_port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{settings.http_port}"
    finally:
        server.should_exit = True
        await task


async def configure_application(engine: AsyncEngine, application_id: str) -> None:
    """Notifications on and the email service verified, as the application's admin leaves them."""
    store = ApplicationStore(engine)
    settings = ApplicationSettings(
        notifications_active=True, mail_from="Contact Center <cc@example.test>", templates=TEMPLATES
    )
    await store.put(application_id, settings)
    now = datetime.now(UTC)
    await store.start_verification(application_id, "admin@example.test", "-", now + timedelta(minutes=10))
    await store.confirm_verification(application_id, lambda code_hash, email: True, now)
    assert (await store.policy_for(application_id)).active


def delivered(sink: SmtpSink, kind: str, ids: set[str]) -> set[str]:
    """The appointments of `ids` whose `kind` mail has arrived."""
    return {
        str(m.message["X-Appointment-Id"])
        for m in sink.messages()
        if m.message["X-Notification-Type"] == kind and m.message["X-Appointment-Id"] in ids
    }


async def wait_until(moment: datetime) -> None:
    await asyncio.sleep(max((moment - datetime.now(UTC)).total_seconds(), 0))


def mail_files(sink: SmtpSink) -> set[str]:
    """Every file of the mail directory, also the hidden one of a message being received."""
    return {p.name for p in sink.directory.iterdir()}


async def catch_sending(rig: Rig, appointment_id: str, due: datetime, patience: float = 5.0) -> str:
    """Return the moment the appointment's reminder is being sent (the workflow task its timer woke
    still running: a reminder goes out as a local activity inside that task, docs/workflows.md;
    the sink not yet receiving it), or at the latest `patience` s after `due`; says which.

    Killing the worker then cannot fall between the sink's `250 OK` and the activity's record of it:
    the one instant where a crash duplicates a mail, by design (docs/notifications.md)."""
    handle = rig.client.get_workflow_handle(workflow_id(appointment_id))
    await wait_until(due - timedelta(seconds=0.2))
    deadline = time.monotonic() + 0.2 + patience
    seen = mail_files(rig.sink)
    while time.monotonic() < deadline:
        files = mail_files(rig.sink)
        if files != seen:  # reading names is quicker than reading messages: poll those
            if delivered(rig.sink, "REMINDER", {appointment_id}):
                return "nothing: the reminder had arrived"
            seen = files
        started = _task_woken_by_timer(await handle.fetch_history(), due)
        if started is not None and mail_files(rig.sink) == files:
            offset = (started - due).total_seconds()
            return f"the task its timer woke running (started {offset:+.2f} s from due)"
    return f"nothing in flight within {patience:.0f} s of the due time"


_TASK_EVENTS = frozenset(
    {
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
    }
)


def _task_woken_by_timer(history: WorkflowHistory, due: datetime) -> datetime | None:
    """When the workflow task that a timer fired at `due` (or later) woke started, if it is still
    running: the last task event since the timer fired is its start."""
    events = history.events
    fired = [
        i
        for i, e in enumerate(events)
        if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED
        and e.event_time.ToDatetime(tzinfo=UTC) >= due - timedelta(seconds=0.5)
    ]
    if not fired:
        return None
    tasks = [e for e in events[fired[0] + 1 :] if e.event_type in _TASK_EVENTS]
    if tasks and tasks[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
        return tasks[-1].event_time.ToDatetime(tzinfo=UTC)
    return None


async def history_since(client: Client, appointment_id: str, since: datetime) -> str:
    """The workflow's events from `since` on, for a failure message."""
    history = await client.get_workflow_handle(workflow_id(appointment_id)).fetch_history()
    lines = []
    for event in history.events:
        at = event.event_time.ToDatetime(tzinfo=UTC)
        if at >= since:
            name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
            lines.append(f"  {(at - since).total_seconds():+6.1f} s {name}")
    return "\n".join(lines)


pytestmark = pytest.mark.usefixtures("no_leftovers")


async def test_worker_and_temporal_crashes_lose_and_duplicate_nothing(
    tmp_path: Path, database_url: str, engine: AsyncEngine
) -> None:
    application_id = str(uuid.uuid4())
    sink = SmtpSink(tmp_path / "mail", port=0)
    temporal = TemporalProcesses(tmp_path / "temporal.db", tmp_path / "temporal.log", free_port())
    env = {
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": f"127.0.0.1:{temporal.port}",
        "TEMPORAL_TASK_QUEUE": f"crash-recovery-{uuid.uuid4()}",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": "0",
        "WORKER_METRICS_PORT": "0",
        **TEST_SECRETS,
        "HTTP_PORT": str(free_port()),
        "ROOM_BASE_URL": "https://rooms.example.test",
        "PUBLIC_BASE_URL": "https://api.example.test",
        "LOG_FORMAT": "text",
    }
    worker: ServiceProcess | None = None
    try:
        sink.start()
        env["SMTP_PORT"] = str(sink.port)
        settings = session_settings(env)
        worker = ServiceProcess("worker", "worker", {**os.environ, **env}, tmp_path / "worker.log")
        await temporal.start()
        await configure_application(engine, application_id)
        await start_worker(worker)
        token = mint_token(JWT_SECRET, sub="agent-1", roles=[Role.AGENT.value], application_id=application_id)
        async with serve_api(settings) as base_url, httpx.AsyncClient(base_url=base_url, timeout=120) as http:
            client = await connect(settings)
            rig = Rig(http, client, engine, sink, worker, temporal, {"Authorization": f"Bearer {token}"})
            await scenario(rig)
    finally:
        if worker is not None:
            worker.stop()
        temporal.close()
        sink.stop()


async def scenario(rig: Rig) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    await wait_until(t0)
    due_at = [t0 + timedelta(seconds=s) for s in REMINDER_DUE]
    ids, emails = await schedule_through_a_worker_crash(rig, t0, due_at)
    due_of = dict(zip(ids, due_at, strict=True))

    def due(second: int) -> tuple[str, datetime]:
        """The appointment whose reminder is due `second` s after T0, and that moment."""
        moment = t0 + timedelta(seconds=second)
        return next(i for i in ids if due_of[i] == moment), moment

    caught = await catch_sending(rig, *due(KILL_WORKER_AT))
    kill_worker(rig.worker)
    log(f"worker crash 2 at T0+{KILL_WORKER_AT}: caught {caught}")
    await asyncio.sleep(WORKER_DOWN)
    await start_worker(rig.worker)

    caught = await catch_sending(rig, *due(STOP_TEMPORAL_AT))
    await rig.temporal.stop()
    log(f"temporal stop at T0+{STOP_TEMPORAL_AT}: caught {caught}")
    await asyncio.sleep(TEMPORAL_DOWN)
    await rig.temporal.start()

    caught = await catch_sending(rig, *due(KILL_TEMPORAL_AT))
    await rig.temporal.kill()
    log(f"temporal SIGKILL at T0+{KILL_TEMPORAL_AT}: caught {caught}")
    await asyncio.sleep(TEMPORAL_DOWN)
    await rig.temporal.start()

    # Every reminder (waiting past the limit, to measure a late one), then until nothing is in
    # flight anymore: a stuck activity that is retried later could still mail a second time.
    deadline = max(due_at) + LATE_LIMIT + timedelta(seconds=10)
    while len(delivered(rig.sink, "REMINDER", set(ids))) < len(ids):
        if datetime.now(UTC) > deadline:
            break
        await asyncio.sleep(0.2)
    quiet_by = time.monotonic() + 90
    while busy := await pending_work(rig.client, ids):
        assert time.monotonic() < quiet_by, f"still in flight: {busy}\n{rig.worker.tail()}"
        await asyncio.sleep(0.5)
    await asyncio.sleep(2)
    log(f"nothing in flight at T0+{(datetime.now(UTC) - t0).total_seconds():.1f} s")

    await check_mail(rig, ids, emails, due_of)
    await check_state(rig, ids)
    await check_notification_log(rig.engine, ids)


async def schedule_through_a_worker_crash(
    rig: Rig, t0: datetime, due_at: list[datetime]
) -> tuple[list[str], dict[str, str]]:
    """POST the appointments, SIGKILL the worker once the first answered; ids and customer emails."""
    bodies = []
    for n, due in enumerate(due_at):
        body = schedule_body(due + LATE_LIMIT, title=f"Crash {n}")
        body["customer"]["contact"]["primaryEmail"] = f"customer-{n}-{uuid.uuid4().hex[:8]}@example.test"
        bodies.append(body)
    keys = [f"crash-recovery-{uuid.uuid4()}" for _ in bodies]

    async def post(n: int) -> httpx.Response:
        headers = {**rig.agent, "Idempotency-Key": keys[n]}
        return await rig.http.post("/api/appointments", json=bodies[n], headers=headers)

    posts = [asyncio.create_task(post(n)) for n in range(len(bodies))]
    await asyncio.wait(posts, return_when=asyncio.FIRST_COMPLETED)
    answered = sum(p.done() for p in posts)
    kill_worker(rig.worker)
    log(f"worker crash 1 at T0+{(datetime.now(UTC) - t0).total_seconds():.1f}: {answered}/10 POSTs answered")
    await asyncio.sleep(WORKER_DOWN)
    await start_worker(rig.worker)
    responses = list(await asyncio.gather(*posts))
    first = Counter(r.status_code for r in responses)
    retries = 0
    for n in range(len(responses)):
        while responses[n].status_code == 503:
            retries += 1
            responses[n] = await post(n)
    assert [r.status_code for r in responses] == [200] * len(bodies), [r.text for r in responses]
    ids = [r.json()["id"] for r in responses]
    assert len(set(ids)) == len(ids)
    log(
        f"first answers {dict(first)}, {retries} retried with the same Idempotency-Key; "
        f"all {len(ids)} scheduled at T0+{(datetime.now(UTC) - t0).total_seconds():.1f} s"
    )
    emails = {i: b["customer"]["contact"]["primaryEmail"] for i, b in zip(ids, bodies, strict=True)}
    return ids, emails


async def check_mail(rig: Rig, ids: list[str], emails: dict[str, str], due_of: dict[str, datetime]) -> None:
    messages = rig.sink.messages()
    counts = Counter((m.message["X-Appointment-Id"], m.message["X-Notification-Type"]) for m in messages)
    expected = Counter({(i, kind): 1 for i in ids for kind in KINDS})
    assert counts == expected, f"missing: {expected - counts}, extra: {counts - expected}"
    for message in messages:
        assert message.rcpt_tos == (emails[message.message["X-Appointment-Id"]],)
    lateness = {
        str(m.message["X-Appointment-Id"]): datetime.fromtimestamp(m.path.stat().st_mtime, UTC)
        - due_of[str(m.message["X-Appointment-Id"])]
        for m in messages
        if m.message["X-Notification-Type"] == "REMINDER"
    }
    seconds = [round(lateness[i].total_seconds(), 1) for i in ids]
    for i in ids:
        if lateness[i] > timedelta(seconds=5):
            history = await history_since(rig.client, i, due_of[i])
            log(f"{i} late by {lateness[i].total_seconds():.1f} s, its events since due:\n{history}")
    log(f"{len(messages)} mails, each exactly once; reminder lateness in s (by due time): {seconds}")
    late = [i for i in ids if lateness[i] > LATE_LIMIT]
    if late:
        histories = [
            f"{i} (due {due_of[i]:%H:%M:%S}):\n{await history_since(rig.client, i, due_of[i])}" for i in late
        ]
        pytest.fail(f"reminders more than a minute late: {seconds}\n" + "\n".join(histories))
    assert min(lateness.values()) >= timedelta(seconds=-1), f"reminders early: {seconds}"


async def check_state(rig: Rig, ids: list[str]) -> None:
    store = AppointmentStore(rig.engine)
    for appointment_id in ids:
        read = await rig.http.get(f"/api/appointments/{appointment_id}", headers=rig.agent)
        assert read.status_code == 200, read.text
        state = await rig.client.get_workflow_handle(workflow_id(appointment_id)).query(
            AppointmentWorkflow.appointment
        )
        assert await store.get(appointment_id) == state, f"read model of {appointment_id} != its workflow"
        assert read.json()["version"] == state.version


async def check_notification_log(engine: AsyncEngine, ids: list[str]) -> None:
    query = text(
        "SELECT appointment_id, type, status, count(*) FROM notification_log "
        "WHERE appointment_id = ANY(:ids) GROUP BY 1, 2, 3"
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query, {"ids": ids})).all()
    assert {(a, t, s): n for a, t, s, n in rows} == {(i, kind, "SENT"): 1 for i in ids for kind in KINDS}
