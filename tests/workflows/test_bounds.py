"""Every wait ends and every run stays bounded, on the time-skipping server with the real
activities, read model, SMTP sink and HTTP receivers.

Each test follows the appointment's runs along their continue-as-new links and checks, run by run,
the bounds docs/workflows.md ("Bounds") documents: the events of a run, its largest payload and the
deliveries it hands over, and that no workflow task failed (a task that loops without yielding
fails on the deadlock detector).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from devstack.net import free_port
from devstack.smtp_sink import SmtpSink
from domain import delivery_queue, lifecycle
from domain.access import Principal, Role
from domain.activity_names import PROVISION_ROOM
from domain.commands import ACTIVATE, SCHEDULE, UPDATE_DETAILS
from domain.errors import ErrorKind
from domain.lifecycle import ActorCommand, UpdateDetails
from domain.model import Appointment, RoomAccess, RoomRequest, Status, WorkflowPolicy
from domain.notifications import NotificationPolicy, NotificationType, Template
from domain.webhooks import EventType, event_id
from domain.workflow_state import AppointmentState, ChangeEvent, QueuedDelivery
from storage.appointments import AppointmentStore
from storage.webhooks import WebhookStore
from tests.support.factories import new_appointment, principal
from tests.support.histories import Run, runs
from tests.support.receiver import Receiver
from tests.support.secrets import session_settings
from tests.support.stack import SANDBOXED
from tests.support.updates import update
from worker_host import build_worker, worker_activities
from workflows.appointment import AppointmentWorkflow, workflow_id

# What a run may hold past its history limit: the activation that reached it, the handlers still
# in flight and the cancellation of the sends under way (docs/workflows.md, "Bounds").
HANDOVER_EVENTS = 100
# No payload of these appointments comes near it, however many changes or queued deliveries.
LARGEST_PAYLOAD = 64 * 1024
SECRET = "whsec-0123456789abcdef0123"
FOLLOW_UP = Template(
    type=NotificationType.FOLLOW_UP, subject="How was it?", text_body="Thanks", period=timedelta(hours=1)
)


def _activities(
    settings: Any, engine: AsyncEngine, **replacing: Callable[..., Any]
) -> list[Callable[..., Any]]:
    """The service's activities, with those named in `replacing` swapped for the given ones."""
    return [
        replacing.get(activity._Definition.must_from_callable(fn).name, fn)
        for fn in worker_activities(settings, engine)
    ]


@pytest.fixture
async def bounded_worker(
    time_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str, mail_sink: SmtpSink
) -> AsyncIterator[Callable[..., Any]]:
    """Starts a worker (with loopback webhooks allowed) whose activities may be replaced by name."""
    settings = session_settings(
        {
            "ROOM_BASE_URL": "https://rooms.example.test",
            "SMTP_PORT": str(mail_sink.port),
            "WEBHOOKS_ALLOW_LOOPBACK": "true",
            **SANDBOXED,
        }
    )
    workers: list[Worker] = []

    async def start(**replacing: Callable[..., Any]) -> Worker:
        worker = build_worker(
            time_env.client,
            settings,
            engine,
            task_queue=task_queue,
            activities=_activities(settings, engine, **replacing),
        )
        await worker.__aenter__()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        await worker.__aexit__(None, None, None)


async def subscribe(engine: AsyncEngine, application_id: str, url: str) -> str:
    return (await WebhookStore(engine).create(application_id, url, ("*",), SECRET, {})).id


def ended_with_deliveries_owed(
    agent: Principal, now: datetime, webhook_id: str, policy: WorkflowPolicy, owed: int = 40
) -> AppointmentState:
    """An appointment ended just now, its follow-up an hour away, with `owed` webhook deliveries
    still queued: what a run hands over when it continues as new after the end."""
    ended = lifecycle.end(
        new_appointment(agent, start=now - timedelta(hours=2), now=now - timedelta(days=1)), agent, now
    )
    return AppointmentState(
        appointment=ended,
        policy=policy,
        notifications=NotificationPolicy(active=True, mail_from="cc@example.test", templates=(FOLLOW_UP,)),
        handled=(f"{ended.id}:CREATE",),
        deliveries=tuple(
            QueuedDelivery(
                webhook_id=webhook_id,
                event=ChangeEvent(
                    id=event_id(ended.id, ended.version, EventType.APPOINTMENT_UPDATED, str(n)),
                    type=EventType.APPOINTMENT_UPDATED,
                    timestamp=now,
                    version=ended.version,
                ),
                expires_at=delivery_queue.expires(now),
            )
            for n in range(owed)
        ),
    )


def received_once(receiver: Receiver, path: str, deliveries: tuple[QueuedDelivery, ...]) -> bool:
    return sorted(r.headers["x-webhook-id"] for r in receiver.at(path)) == sorted(
        d.event.id for d in deliveries
    )


def _check_bounds(found: list[Run], history_limit: int) -> None:
    for run in found:
        assert not run.failed_tasks, f"run {run.run_id}: workflow tasks failed"
        assert run.length <= history_limit + HANDOVER_EVENTS, f"run {run.run_id}: {run.length} events"
        assert run.largest_payload <= LARGEST_PAYLOAD, f"run {run.run_id}: {run.largest_payload} bytes"
        queued: dict[str, int] = {}
        for delivery in run.started_with.deliveries:
            queued[delivery.webhook_id] = queued.get(delivery.webhook_id, 0) + 1
        assert all(count <= delivery_queue.MAX_QUEUED for count in queued.values())


async def _start(env: WorkflowEnvironment, worker: Worker, state: AppointmentState) -> WorkflowHandle:
    handle = await env.client.start_workflow(
        AppointmentWorkflow.run,
        state,
        id=workflow_id(state.appointment.id),
        task_queue=worker.task_queue,
    )
    if state.appointment.status.is_open:
        await update(handle, SCHEDULE)
    return handle


async def test_a_closed_run_continues_as_new_with_its_follow_up_still_due(
    time_env: WorkflowEnvironment,
    bounded_worker: Callable[..., Any],
    engine: AsyncEngine,
    mail_sink: SmtpSink,
    receiver: Receiver,
) -> None:
    """Ended, a follow-up an hour away, and deliveries enough to pass the history limit while
    closed: the run hands over (no task spins), the next one delivers the rest, sends the
    follow-up once and completes."""
    worker = await bounded_worker()
    agent = principal(Role.AGENT, application_id=str(uuid.uuid4()))
    webhook_id = await subscribe(engine, agent.application_id, receiver.url("/closed"))
    limit = 100
    state = ended_with_deliveries_owed(
        agent, await time_env.get_current_time(), webhook_id, WorkflowPolicy(history_limit=limit)
    )
    handle = await _start(time_env, worker, state)
    first_run = handle.result_run_id
    assert first_run is not None

    final: Appointment = await asyncio.wait_for(handle.result(), 60)

    assert final.status is Status.ENDED
    found = await runs(time_env.client, handle.id, first_run)
    assert len(found) >= 2 and all(run.started_with.appointment.status is Status.ENDED for run in found)
    assert found[0].continued_as_new and found[0].started_with.deliveries == state.deliveries
    _check_bounds(found, limit)
    assert received_once(receiver, "/closed", state.deliveries)
    follow_ups = [m for m in mail_sink.messages() if m.message["X-Appointment-Id"] == state.appointment.id]
    assert [m.subject for m in follow_ups] == ["How was it?"]


async def test_a_receiver_dead_for_a_day_holds_back_nothing_but_its_own_queue(
    time_env: WorkflowEnvironment, bounded_worker: Callable[..., Any], engine: AsyncEngine
) -> None:
    """Hundreds of changes while every delivery is refused: runs still hand over at their limit
    (a delivery in flight does not hold them), each subscription's queue stays capped, and a day
    later the deliveries have expired and changes go on."""
    worker = await bounded_worker()
    agent = principal(Role.AGENT, application_id=str(uuid.uuid4()))
    now = await time_env.get_current_time()
    appointment = new_appointment(agent, start=now + timedelta(days=3), now=now)
    await subscribe(engine, agent.application_id, f"http://127.0.0.1:{free_port()}/dead")
    limit = 300
    handle = await _start(
        time_env,
        worker,
        AppointmentState(appointment=appointment, policy=WorkflowPolicy(history_limit=limit)),
    )
    first_run = handle.result_run_id
    assert first_run is not None
    latest = time_env.client.get_workflow_handle(handle.id)
    changes = 300
    for n in range(changes):
        await update(latest, UPDATE_DETAILS, UpdateDetails(actor=agent, title=f"v{n}"))

    await time_env.sleep(timedelta(hours=25))
    after = await update(latest, UPDATE_DETAILS, UpdateDetails(actor=agent, title="a day later"))

    assert after.version == changes + 2
    stored = await AppointmentStore(engine).get(appointment.id)
    assert stored is not None and stored.version == after.version
    found = await runs(time_env.client, handle.id, first_run)
    assert len(found) >= 3, "the runs should have handed over while a delivery was in flight"
    _check_bounds(found, limit)
    assert any(len(run.started_with.deliveries) == delivery_queue.MAX_QUEUED for run in found)
    await latest.terminate("test over")


class _SilentRooms:
    """A video service that never answers, until told to: each attempt waits a moment and gives up
    as a client's own timeout would. (A running attempt stops the test server's clock, so an
    attempt that hung until its start-to-close timeout would take that long in real time.)"""

    def __init__(self) -> None:
        self.calls = 0
        self.answering = False

    @activity.defn(name=PROVISION_ROOM)
    async def provision(self, request: RoomRequest) -> RoomAccess:
        self.calls += 1
        if not self.answering:
            await asyncio.sleep(0.2)
            raise TimeoutError("the video service did not answer")
        return RoomAccess(
            url=f"https://rooms.example.test/{request.appointment_id}", type="VIDEO", expires=request.expires
        )


async def test_room_provisioning_that_never_answers_fails_the_activation_and_frees_the_appointment(
    time_env: WorkflowEnvironment, bounded_worker: Callable[..., Any]
) -> None:
    rooms = _SilentRooms()
    worker = await bounded_worker(**{PROVISION_ROOM: rooms.provision})
    agent = principal(Role.AGENT, application_id=str(uuid.uuid4()))
    client_service = principal(Role.CLIENT_SERVICE, application_id=agent.application_id)
    now = await time_env.get_current_time()
    appointment = new_appointment(agent, start=now + timedelta(hours=2), now=now)
    handle = await _start(
        time_env, worker, AppointmentState(appointment=appointment, policy=WorkflowPolicy())
    )
    first_run = handle.result_run_id
    assert first_run is not None

    activation = asyncio.create_task(update(handle, ACTIVATE, ActorCommand(actor=client_service)))
    await time_env.sleep(timedelta(minutes=2))
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await activation
    assert isinstance(failed.value.cause, ApplicationError)
    assert failed.value.cause.type == ErrorKind.UNAVAILABLE.value
    assert rooms.calls >= 2, "the provisioning should have been retried before it was given up"

    # Nothing is left holding the appointment: a change goes through at once, and once the video
    # service answers, a second activation opens the room.
    changed = await asyncio.wait_for(
        update(handle, UPDATE_DETAILS, UpdateDetails(actor=agent, title="still here")), 10
    )
    assert changed.title == "still here"
    rooms.answering = True
    room = await update(handle, ACTIVATE, ActorCommand(actor=client_service))
    assert room.url.endswith(appointment.id)
    _check_bounds(await runs(time_env.client, handle.id, first_run), WorkflowPolicy().history_limit)
    await handle.terminate("test over")


async def test_a_thousand_changes_to_one_appointment_stay_within_every_bound(
    time_env: WorkflowEnvironment, bounded_worker: Callable[..., Any], engine: AsyncEngine
) -> None:
    """A thousand changes, eight at a time: the runs hand over while changes keep arriving, none
    is lost, and the read model ends at the last version."""
    worker = await bounded_worker()
    agent = principal(Role.AGENT, application_id=str(uuid.uuid4()))
    now = await time_env.get_current_time()
    appointment = new_appointment(agent, start=now + timedelta(days=3), now=now)
    policy = WorkflowPolicy(history_limit=1000)
    handle = await _start(time_env, worker, AppointmentState(appointment=appointment, policy=policy))
    first_run = handle.result_run_id
    assert first_run is not None
    latest = time_env.client.get_workflow_handle(handle.id)
    changes = 1000
    in_flight = asyncio.Semaphore(8)

    async def change(n: int) -> None:
        async with in_flight:
            await update(latest, UPDATE_DETAILS, UpdateDetails(actor=agent, title=f"v{n}"))

    await asyncio.gather(*(change(n) for n in range(changes)))

    current = await latest.query(AppointmentWorkflow.appointment)
    assert current.version == changes + 1
    stored = await AppointmentStore(engine).get(appointment.id)
    assert stored is not None and stored.version == current.version
    found = await runs(time_env.client, handle.id, first_run)
    assert len(found) >= 3
    _check_bounds(found, policy.history_limit)
    await latest.terminate("test over")
