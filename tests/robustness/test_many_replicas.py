"""Many replicas, one service: two `appointments api` and three `appointments worker` processes
on the session's Temporal dev server, PostgreSQL and SMTP sink, one of the workers SIGKILLed in
the middle of a burst of reminders.

The test's application (its own id, its own task queue) is configured through the APIs: CREATE,
RESCHEDULE, CANCELLED and PT1M REMINDER templates, the email service verified with the mailed
code, two webhook subscriptions (every event; reschedules and reminders) at a receiver
(tests/support/receiver.py). Each request goes to one API or the other, and each change of an
appointment to the other API than the one before:

- one appointment POSTed with one `Idempotency-Key` to both APIs at once and again to the second
  (and each subscription likewise): one resource; the key with another body: 422;
- `BURST` appointments scheduled far ahead, half of them retitled twice at once (once through
  each API), then all rescheduled so that their reminders fall due `PER_SECOND` a second from B
  on; `CANCELLED` more scheduled and deleted;
- 30 public reads from one client, alternating APIs, against a limit of 20 (RATE_LIMITS): 20 pass;
- once a quarter of the reminders are out, the worker running a `send_message` or `post_webhook`
  (the one Temporal names in the pending activity) is SIGKILLed, outside the documented instant
  between the SMTP server's `250 OK` and the `notification_log` insert (see `kill_outside_mail_window`).

Then, once no workflow has anything in flight, it checks:

- **email**: each customer got exactly one mail of each kind it is owed (CREATE, RESCHEDULE,
  REMINDER; CREATE, CANCELLED), counted as the SMTP server received them (no deduplication), and
  `notification_log` holds one SENT row per mail;
- **webhooks**: delivery is at-least-once with a stable event id, as docs/webhooks.md promises. At
  the receiver "exactly once" means: every expected event arrives, a repeat carries the same id and
  the same body, and nothing else arrives; "in order" means: per subscription and appointment, the
  first arrivals follow the changes (versions rising, REMINDER_SENT after the change it reminds of)
  and no repeat of an event comes after a later event. Every delivery's signature verifies;
- **read model**: each appointment's row equals its workflow's state (query `appointment`), and
  `GET` answers the same through both APIs (404 for the deleted);
- every process but the killed worker still runs, and none is left after the test.

It prints the timeline, the reminders' lateness and how long the remaining workers took to deliver
what the killed one held (docs/operations.md, "Many replicas").

Rerun: `.venv/bin/python -m pytest tests/robustness/test_many_replicas.py -q -s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import signal
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import cycle
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.auth.tokens import mint_token
from devstack.smtp_sink import SmtpSink, StoredMessage, read_message
from domain.access import Role
from domain.activity_names import POST_WEBHOOK, SEND_MESSAGE
from domain.rate_limits import PUBLIC_READS
from storage.appointments import AppointmentStore
from tests.support.applications import verify_email
from tests.support.histories import pending_work
from tests.support.limits import client_network, within_one_window
from tests.support.processes import ServiceProcess, replicas
from tests.support.receiver import Received, Receiver
from tests.support.requests import iso, schedule_body
from tests.support.secrets import JWT_SECRET, TEST_SECRETS
from workflows.appointment import AppointmentWorkflow, workflow_id

BURST = 40
PER_SECOND = 5  # reminders due per second of the burst: 40 in 8 s
CANCELLED = 4
PUBLIC_READ_LIMIT = 20
PUBLIC_READS_SENT = 30
WEBHOOK_SECRET = "replicas-webhook-secret-0123456789"
# Two subscriptions, each at its own path of the receiver: every event, and a few kinds.
SUBSCRIPTIONS = {"/hooks/all": ("*",), "/hooks/some": ("APPOINTMENT_RESCHEDULED", "REMINDER_SENT")}
REMINDER_PERIOD = timedelta(minutes=1)
TEMPLATES: list[dict[str, Any]] = [
    {"type": kind, "channel": "EMAIL", "subject": f"{kind} {{{{title}}}}", "textBody": "At {{time24}}"}
    for kind in ("CREATE", "RESCHEDULE", "CANCELLED")
] + [
    {
        "type": "REMINDER",
        "channel": "EMAIL",
        "subject": "Soon {{title}}",
        "textBody": "At {{time24}}",
        "period": "PT1M",
    }
]


T = TypeVar("T")


def log(message: str) -> None:
    print(f"[many-replicas {datetime.now(UTC):%H:%M:%S.%f}] {message}", flush=True)


@dataclass
class Planned:
    """An appointment of the test and what it is owed."""

    id: str
    email: str
    mails: tuple[str, ...]  # notification types, each owed exactly once
    events: tuple[str, ...]  # webhook event types, in the order of the changes
    deleted: bool = False
    reminder_due: datetime | None = None


@dataclass
class Rig:
    apis: tuple[httpx.AsyncClient, httpx.AsyncClient]
    workers: list[ServiceProcess]
    api_processes: list[ServiceProcess]
    temporal: Client
    engine: AsyncEngine
    mail: SmtpSink
    receiver: Receiver
    application_id: str
    agent: dict[str, str]
    admin: dict[str, str]
    planned: dict[str, Planned] = field(default_factory=dict)
    mail_read: dict[Path, StoredMessage] = field(default_factory=dict)

    def other(self, api: httpx.AsyncClient) -> httpx.AsyncClient:
        return self.apis[1] if api is self.apis[0] else self.apis[0]


def replica_env(dev_server: WorkflowEnvironment, database_url: str, mail_sink: SmtpSink) -> dict[str, str]:
    """What every process of the test shares: the session's servers and secrets, a task queue of its
    own (the session's in-process worker never takes its tasks), no metrics listeners."""
    return {
        **os.environ,
        **TEST_SECRETS,
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
        "TEMPORAL_TASK_QUEUE": f"many-replicas-{uuid.uuid4()}",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mail_sink.port),
        "WEBHOOKS_ALLOW_LOOPBACK": "true",
        "RATE_LIMITS": f"{PUBLIC_READS.name}={PUBLIC_READ_LIMIT}",
        "WORKER_METRICS_PORT": "0",
        "API_METRICS_PORT": "0",
        "ROOM_BASE_URL": "https://rooms.example.test",
        "PUBLIC_BASE_URL": "https://api.example.test",
        "LOG_FORMAT": "text",
    }


pytestmark = pytest.mark.usefixtures("no_leftovers")


async def test_two_apis_three_workers_one_killed_mid_burst(
    tmp_path: Path,
    dev_server: WorkflowEnvironment,
    database_url: str,
    engine: AsyncEngine,
    mail_sink: SmtpSink,
    receiver: Receiver,
) -> None:
    began = time.monotonic()
    application_id = str(uuid.uuid4())
    env = replica_env(dev_server, database_url, mail_sink)
    async with AsyncExitStack() as stack:
        api_processes, workers = await stack.enter_async_context(replicas(env, tmp_path, apis=2, workers=3))
        log(f"up: {', '.join(f'{p.name} (pid {p.pid})' for p in (*api_processes, *workers))}")
        first, second = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=p.base_url, timeout=30))
            for p in api_processes
        ]

        def token(role: Role, sub: str) -> dict[str, str]:
            jwt = mint_token(JWT_SECRET, sub=sub, roles=[role.value], application_id=application_id)
            return {"Authorization": f"Bearer {jwt}"}

        rig = Rig(
            apis=(first, second),
            workers=workers,
            api_processes=api_processes,
            temporal=dev_server.client,
            engine=engine,
            mail=mail_sink,
            receiver=receiver,
            application_id=application_id,
            agent=token(Role.AGENT, "agent-replicas"),
            admin=token(Role.ADMIN, "admin-replicas"),
        )
        await scenario(rig)
    log(f"test took {time.monotonic() - began:.1f} s")


async def scenario(rig: Rig) -> None:
    await configure(rig)
    await idempotent_creates(rig)
    burst_start = await schedule_and_change(rig)
    await public_reads_share_one_limit(rig)
    killed_at, victim = await kill_a_worker_mid_burst(rig, burst_start)
    await settle(rig)
    report_lateness(rig, burst_start, killed_at)
    survivors = [p for p in (*rig.api_processes, *rig.workers) if p is not victim]
    assert all(p.running() for p in survivors), [p.tail() for p in survivors if not p.running()]
    check_mail(rig)
    await check_notification_log(rig)
    for hook in SUBSCRIPTIONS:
        check_webhooks(rig, hook)
    await check_read_model(rig)


# -- setting up, through both APIs -------------------------------------------------------------


async def configure(rig: Rig) -> None:
    first, second = rig.apis
    settings = {"notificationsActive": True, "templates": TEMPLATES}
    put = await first.put(
        f"/api/applications/{rig.application_id}/settings", json=settings, headers=rig.admin
    )
    assert put.status_code == 200, put.text
    await verify_email(
        second, rig.mail, rig.admin, rig.application_id, f"admin-{rig.application_id}@example.test"
    )
    path = f"/api/applications/{rig.application_id}/webhooks"
    created = []
    for hook, events in SUBSCRIPTIONS.items():
        subscription = {"url": rig.receiver.url(hook), "events": list(events), "secret": WEBHOOK_SECRET}
        key = {**rig.admin, "Idempotency-Key": f"hook-{uuid.uuid4()}"}
        answers = await asyncio.gather(*(api.post(path, json=subscription, headers=key) for api in rig.apis))
        assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
        assert answers[0].json()["id"] == answers[1].json()["id"]
        created.append(answers[0].json()["id"])
    listed = await second.get(path, headers=rig.admin)
    assert [w["id"] for w in listed.json()] == created


def customer(email: str, title: str, start: datetime) -> dict[str, Any]:
    body = schedule_body(start, title=title)
    body["customer"] = {**body["customer"], "contact": {"primaryEmail": email}}
    return body


async def idempotent_creates(rig: Rig) -> None:
    """One key, both APIs at once, then the second again: one appointment; another body: 422."""
    first, second = rig.apis
    email = f"idem-{uuid.uuid4().hex[:8]}@example.test"
    body = customer(email, "Idempotent", datetime.now(UTC).replace(microsecond=0) + timedelta(days=3))
    headers = {**rig.agent, "Idempotency-Key": f"replicas-{uuid.uuid4()}"}
    together = await asyncio.gather(
        *(api.post("/api/appointments", json=body, headers=headers) for api in (first, second, first, second))
    )
    assert [r.status_code for r in together] == [200] * 4, [r.text for r in together]
    again = await second.post("/api/appointments", json=body, headers=headers)
    assert again.status_code == 200, again.text
    ids = {r.json()["id"] for r in (*together, again)}
    assert len(ids) == 1, ids
    other = await first.post("/api/appointments", json={**body, "title": "Another"}, headers=headers)
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key", other.text
    (appointment_id,) = ids
    rig.planned[appointment_id] = Planned(appointment_id, email, ("CREATE",), ("APPOINTMENT_CREATED",))


async def in_parallel(calls: list[Callable[[], Awaitable[T]]], limit: int = 8) -> list[T]:
    """Each call, at most `limit` at a time: more would only queue at two busy cores."""
    gate = asyncio.Semaphore(limit)

    async def call(make: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await make()

    return await asyncio.gather(*(call(make) for make in calls))


async def schedule_and_change(rig: Rig) -> datetime:
    """Schedule far ahead, retitle half (twice at once), reschedule all so that their reminders
    fall due in the burst, delete the cancelled ones; each change through the other API than the
    schedule.
    Returns B, when the first reminders fall due."""
    began = time.monotonic()
    far = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    emails = [f"burst-{n}-{uuid.uuid4().hex[:8]}@example.test" for n in range(BURST + CANCELLED)]
    apis = cycle(rig.apis)
    chosen = [next(apis) for _ in emails]
    scheduled = await in_parallel(
        [
            lambda api=api, email=email, n=n: api.post(
                "/api/appointments", json=customer(email, f"Burst {n}", far), headers=rig.agent
            )
            for n, (api, email) in enumerate(zip(chosen, emails, strict=True))
        ]
    )
    assert all(r.status_code == 200 for r in scheduled), [r.text for r in scheduled if r.status_code != 200]
    ids = [r.json()["id"] for r in scheduled]
    log(f"{len(ids)} scheduled in {time.monotonic() - began:.1f} s")

    # Margin for the changes below on two busy cores; a reminder whose reschedule came late would
    # still go out (within its minute), only its lateness would say so.
    burst_start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=15)

    async def change(n: int) -> None:
        appointment_id, api = ids[n], rig.other(chosen[n])
        if n >= BURST:
            deleted = await api.delete(f"/api/appointments/{appointment_id}", headers=rig.agent)
            assert deleted.status_code == 204, deleted.text
            rig.planned[appointment_id] = Planned(
                appointment_id,
                emails[n],
                ("CREATE", "CANCELLED"),
                ("APPOINTMENT_CREATED", "APPOINTMENT_CANCELLED"),
                deleted=True,
            )
            return
        events = ["APPOINTMENT_CREATED"]
        if n % 2 == 0:
            # Two changes of one appointment at once, one through each API: both apply, in turn.
            retitled = await asyncio.gather(
                *(
                    replica.put(
                        "/api/appointments",
                        json={"id": appointment_id, "title": f"Retitled {n} via {replica.base_url.port}"},
                        headers=rig.agent,
                    )
                    for replica in rig.apis
                )
            )
            assert [r.status_code for r in retitled] == [200, 200], [r.text for r in retitled]
            assert retitled[0].json()["version"] != retitled[1].json()["version"]
            events += ["APPOINTMENT_UPDATED", "APPOINTMENT_UPDATED"]
        due = burst_start + timedelta(seconds=n // PER_SECOND)
        moved = await api.put(
            "/api/appointments/reschedule",
            json={
                "id": appointment_id,
                "start": iso(due + REMINDER_PERIOD),
                "duration": "PT5M",
                "timezone": "Europe/Berlin",
            },
            headers=rig.agent,
        )
        assert moved.status_code == 200, moved.text
        events += ["APPOINTMENT_RESCHEDULED", "REMINDER_SENT"]
        rig.planned[appointment_id] = Planned(
            appointment_id, emails[n], ("CREATE", "RESCHEDULE", "REMINDER"), tuple(events), reminder_due=due
        )

    await in_parallel([lambda n=n: change(n) for n in range(len(ids))])
    left = (burst_start - datetime.now(UTC)).total_seconds()
    log(f"changed in {time.monotonic() - began:.1f} s in all; burst B in {left:.1f} s")
    return burst_start


async def public_reads_share_one_limit(rig: Rig) -> None:
    """One client's public reads, alternating APIs and all at once: the limit counts them together."""
    await within_one_window(PUBLIC_READS, seconds=5)
    client = {"X-Forwarded-For": f"{client_network()}::1"}
    params = {"applicationId": rig.application_id, "start": "2030-01-01T00:00:00Z", "timeFrame": "PT1H"}
    apis = cycle(rig.apis)
    answers = await asyncio.gather(
        *(
            next(apis).get("/api/appointments/count", params=params, headers=client)
            for _ in range(PUBLIC_READS_SENT)
        )
    )
    statuses = Counter(a.status_code for a in answers)
    assert statuses == {200: PUBLIC_READ_LIMIT, 429: PUBLIC_READS_SENT - PUBLIC_READ_LIMIT}, statuses
    assert all(1 <= int(a.headers["retry-after"]) <= 60 for a in answers if a.status_code == 429)
    by_api = Counter((a.request.url.port, a.status_code) for a in answers)
    log(f"public reads, limit {PUBLIC_READ_LIMIT} shared by both APIs: {dict(by_api)} (port, status)")


# -- the burst and the kill --------------------------------------------------------------------


def our_mail(rig: Rig) -> list[StoredMessage]:
    """The test's mail in the session's sink, oldest first; each file is parsed once (the test
    polls this while its event loop also serves the webhook receiver)."""
    for path in sorted(rig.mail.directory.glob("[!.]*.eml")):
        if path not in rig.mail_read:
            rig.mail_read[path] = read_message(path)
    return [m for m in rig.mail_read.values() if m.message["X-Appointment-Id"] in rig.planned]


def reminders_out(rig: Rig) -> set[str]:
    return {
        str(m.message["X-Appointment-Id"])
        for m in our_mail(rig)
        if m.message["X-Notification-Type"] == "REMINDER"
    }


def reminded(rig: Rig) -> list[str]:
    return [p.id for p in rig.planned.values() if p.reminder_due is not None]


async def busy_worker(rig: Rig, ids: list[str]) -> tuple[int, str] | None:
    """(pid, activity) of the first worker Temporal shows running a send or a delivery of `ids`,
    if any; the first found is taken, however slowly the other descriptions come."""
    workers = {w.pid for w in rig.workers}
    for described in asyncio.as_completed(
        [rig.temporal.get_workflow_handle(workflow_id(i)).describe() for i in ids]
    ):
        for pending in (await described).raw_description.pending_activities:
            # The SDK's default identity is `<pid>@<host>`.
            pid = pending.last_worker_identity.split("@", 1)[0]
            if (
                pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
                and pending.activity_type.name in (SEND_MESSAGE, POST_WEBHOOK)
                and pid.isdigit()
                and int(pid) in workers
            ):
                return int(pid), pending.activity_type.name
    return None


async def unrecorded_mail(rig: Rig) -> set[str]:
    """Message-IDs the SMTP server accepted that `notification_log` does not hold yet: a worker
    between the server's `250 OK` and its insert."""
    received = {str(m.message["Message-ID"]) for m in our_mail(rig)}
    query = text("SELECT message_id FROM notification_log WHERE message_id = ANY(:ids)")
    async with rig.engine.connect() as conn:
        recorded = set((await conn.execute(query, {"ids": list(received)})).scalars())
    return received - recorded


def in_mail_transaction(process: ServiceProcess, sink: SmtpSink) -> bool:
    """Whether `process` has a mail under way with the SMTP server (its MAIL command taken, the
    mail not yet stored). A connection alone says nothing: the sender keeps its connections
    between mails."""
    ports = {
        c.laddr.port
        for c in psutil.Process(process.pid).net_connections("tcp")
        if c.raddr and c.raddr.port == sink.port
    }
    return any(port in ports for _, port in sink.in_transaction())


async def kill_outside_mail_window(rig: Rig, victim: ServiceProcess) -> None:
    """SIGKILL `victim`, never while it is between the SMTP server's `250 OK` and its
    `notification_log` insert: the one instant where a crash duplicates a mail, by design
    (docs/notifications.md). It is frozen (SIGSTOP) first; while it is talking to the SMTP server
    (the server may be accepting what it sent) or a mail the server accepted is unrecorded, it
    runs on a moment and is frozen again."""
    for attempt in range(50):
        victim.signal(signal.SIGSTOP)
        await asyncio.sleep(0.05)  # the sink stores what was sent before the freeze
        if not in_mail_transaction(victim, rig.mail) and not await unrecorded_mail(rig):
            victim.kill()
            log(f"frozen {attempt + 1} time(s) before the kill")
            return
        victim.signal(signal.SIGCONT)
        await asyncio.sleep(0.02)
    raise AssertionError(f"{victim.name} kept a mail unrecorded through 50 tries")


async def kill_a_worker_mid_burst(rig: Rig, burst_start: datetime) -> tuple[datetime, ServiceProcess]:
    ids = reminded(rig)
    async with asyncio.timeout((burst_start - datetime.now(UTC)).total_seconds() + 60):
        await until(lambda: len(reminders_out(rig)) >= BURST // 4, 0.02)
    log(
        f"{len(reminders_out(rig))}/{BURST} reminders out"
        f" at B{(datetime.now(UTC) - burst_start).total_seconds():+.2f} s"
    )
    caught = None
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(1):  # the burst goes on meanwhile: look briefly, then kill anyway
            while caught is None:
                caught = await busy_worker(rig, [i for i in ids if i not in reminders_out(rig)] or ids)
    victim = next((w for w in rig.workers if caught and w.pid == caught[0]), rig.workers[0])
    await kill_outside_mail_window(rig, victim)
    killed_at = datetime.now(UTC)
    out = len(reminders_out(rig))
    doing = f"running {caught[1]}" if caught else "nothing caught running"
    log(
        f"{victim.name} (pid {victim.pid}, {doing}) SIGKILLed at"
        f" B{(killed_at - burst_start).total_seconds():+.2f} s, {out}/{BURST} reminders out"
    )
    assert out < BURST, "the kill came after the burst: nothing was left to take over"
    return killed_at, victim


async def settle(rig: Rig) -> None:
    """Until every reminder is out, nothing is in flight and every event was delivered."""
    ids = list(rig.planned)
    async with asyncio.timeout(120):
        await until(lambda: len(reminders_out(rig)) >= BURST)
        log(f"all {BURST} reminders out")
        while busy := await pending_work(rig.temporal, ids):
            log(f"{len(busy)} workflows still busy, e.g. {next(iter(busy.items()))}")
            await asyncio.sleep(1)
        for hook in SUBSCRIPTIONS:
            expected = sum(len(wanted(p, hook)) for p in rig.planned.values())
            await until(lambda hook=hook, expected=expected: distinct_events(rig, hook) >= expected)


async def until(condition: Callable[[], bool], interval: float = 0.1) -> None:
    """Poll what other processes (the sink's, the receiver's) make true; the caller bounds the wait."""
    while not condition():  # noqa: ASYNC110 - written by other threads and processes, nothing to await
        await asyncio.sleep(interval)


def arrival(message: StoredMessage) -> datetime:
    return datetime.fromtimestamp(message.path.stat().st_mtime, UTC)


def report_lateness(rig: Rig, burst_start: datetime, killed_at: datetime) -> None:
    """How late the reminders were, and the recovery: the longest a reminder waited after it could
    have gone out with the killed worker gone (after its due time and after the kill)."""
    late: dict[str, float] = {}
    waited: list[float] = []
    for message in our_mail(rig):
        if message.message["X-Notification-Type"] == "REMINDER":
            planned = rig.planned[str(message.message["X-Appointment-Id"])]
            assert planned.reminder_due is not None
            arrived = arrival(message)
            late[planned.id] = (arrived - planned.reminder_due).total_seconds()
            if arrived > killed_at:
                waited.append((arrived - max(planned.reminder_due, killed_at)).total_seconds())
    median = sorted(late.values())[len(late) // 2]
    log(
        f"reminder lateness: max {max(late.values()):.1f} s, median {median:.1f} s;"
        f" {len(waited)} arrived after the kill, the longest wait after it {max(waited, default=0):.1f} s"
        f" (the kill at B{(killed_at - burst_start).total_seconds():+.1f} s)"
    )
    assert min(late.values()) >= -1, f"reminders early: {sorted(late.values())}"


# -- the checks --------------------------------------------------------------------------------


def check_mail(rig: Rig) -> None:
    received = Counter(
        (m.rcpt_tos, str(m.message["X-Appointment-Id"]), str(m.message["X-Notification-Type"]))
        for m in our_mail(rig)
    )
    expected = Counter({((p.email,), p.id, kind): 1 for p in rig.planned.values() for kind in p.mails})
    assert received == expected, (
        f"missing: {dict(expected - received)}, more than expected: {dict(received - expected)}"
    )
    log(f"{sum(received.values())} mails, each exactly once, to its customer")


async def check_notification_log(rig: Rig) -> None:
    query = text(
        "SELECT appointment_id, type, status, count(*) FROM notification_log "
        "WHERE appointment_id = ANY(:ids) GROUP BY 1, 2, 3"
    )
    async with rig.engine.connect() as conn:
        rows = (await conn.execute(query, {"ids": list(rig.planned)})).all()
    assert {(a, t, s): n for a, t, s, n in rows} == {
        (p.id, kind, "SENT"): 1 for p in rig.planned.values() for kind in p.mails
    }


def verified(received: Received) -> dict[str, Any]:
    """What a receiver does: check the signature over the raw body, then parse it."""
    parts = dict(part.split("=", 1) for part in received.headers["x-webhook-signature"].split(","))
    expected = hmac.new(
        WEBHOOK_SECRET.encode(), f"{parts['t']}.".encode() + received.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected), "signature does not verify"
    body: dict[str, Any] = json.loads(received.body)
    assert body["id"] == received.headers["x-webhook-id"]
    return body


def expected_events(planned: Planned) -> list[tuple[str, int]]:
    """(type, version) of the appointment's events: each change has a version of its own, a
    reminder sent keeps the version of the change before it."""
    events = []
    for kind in planned.events:
        version = events[-1][1] if kind == "REMINDER_SENT" else len(events) + 1
        events.append((kind, version))
    return events


def wanted(planned: Planned, hook: str) -> list[tuple[str, int]]:
    kinds = SUBSCRIPTIONS[hook]
    return [e for e in expected_events(planned) if "*" in kinds or e[0] in kinds]


def distinct_events(rig: Rig, hook: str) -> int:
    return len({r.headers["x-webhook-id"] for r in rig.receiver.at(hook)})


def check_webhooks(rig: Rig, hook: str) -> None:
    deliveries = [verified(r) for r in rig.receiver.at(hook)]
    bodies: dict[str, dict[str, Any]] = {}
    arrivals: dict[str, list[str]] = defaultdict(list)  # appointment -> event ids, as they arrived
    for body in deliveries:
        assert body["applicationId"] == rig.application_id and body["appointmentId"] in rig.planned, body
        first = bodies.setdefault(body["id"], body)
        assert first == body, f"event {body['id']} repeated with another body"
        arrivals[body["appointmentId"]].append(body["id"])
    repeats = Counter(bodies[i]["type"] for i, n in Counter(b["id"] for b in deliveries).items() if n > 1)
    for planned in rig.planned.values():
        seen = arrivals[planned.id]
        once = list(dict.fromkeys(seen))
        # A repeat may only follow its own first delivery directly: nothing later went out before it.
        assert [i for n, i in enumerate(seen) if n == 0 or i != seen[n - 1]] == once, (
            f"{hook} {planned.id}: an event repeated after a later one: {[bodies[i]['type'] for i in seen]}"
        )
        got = [(bodies[i]["type"], bodies[i]["version"]) for i in once]
        assert got == wanted(planned, hook), f"{hook} {planned.id}: {got} != {wanted(planned, hook)}"
    log(
        f"{hook}: {len(bodies)} webhook events, each once by id and in order"
        f" (repeated, with the same id and body: {dict(repeats)})"
    )


async def check_read_model(rig: Rig) -> None:
    store = AppointmentStore(rig.engine)
    for planned in rig.planned.values():
        state = await rig.temporal.get_workflow_handle(workflow_id(planned.id)).query(
            AppointmentWorkflow.appointment
        )
        assert await store.get(planned.id) == state, f"read model of {planned.id} != its workflow"
        answers = [await api.get(f"/api/appointments/{planned.id}", headers=rig.agent) for api in rig.apis]
        if planned.deleted:
            assert [a.status_code for a in answers] == [404, 404], [a.text for a in answers]
            continue
        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        assert answers[0].json() == answers[1].json()
        assert answers[0].json()["version"] == state.version
    log(f"read model == workflow for all {len(rig.planned)}; GET alike through both APIs")
