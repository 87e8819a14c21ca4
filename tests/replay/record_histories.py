"""Record workflow histories from real runs, for the replay tests.

Run `python -m tests.replay.record_histories` after a deliberate, replay-safe change to the
workflow to add histories of the new behaviour; never re-record old ones to make a
non-determinism failure go away (see docs/workflows.md).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from sqlalchemy import text
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment

from config.settings import to_sqlalchemy_url
from devstack.net import free_port
from devstack.postgres import EmbeddedPostgres
from devstack.smtp_sink import SmtpSink
from domain.access import Role
from domain.commands import (
    ACTIVATE,
    ADD_AGENT,
    ADD_CUSTOMER,
    DELETE,
    END,
    REASSIGN,
    REMOVE_PARTICIPANT,
    RESCHEDULE,
    SCHEDULE,
    UPDATE_DETAILS,
)
from domain.lifecycle import (
    ActorCommand,
    AddCustomer,
    AgentCommand,
    CustomerDetails,
    RemoveParticipant,
    Reschedule,
    UpdateDetails,
)
from domain.model import Appointment, Contact, Name, WorkflowPolicy
from domain.notifications import NotificationPolicy, NotificationType, Template
from domain.workflow_state import AppointmentState
from storage.database import create_engine
from storage.migrations import upgrade
from storage.webhooks import WebhookStore
from temporal_access.client import data_converter_for
from tests.support.factories import APPLICATION, new_appointment, principal
from tests.support.receiver import start_receiver
from tests.support.secrets import RECORDED_PAYLOAD_KEYS, session_settings
from tests.support.stack import temporal_cli
from tests.support.updates import update
from tests.workflows.test_bounds import ended_with_deliveries_owed
from worker import build_worker
from workflows.appointment import AppointmentWorkflow, workflow_id
from workflows.search import ALL_KEYS, search_attributes

HISTORIES = Path(__file__).parent / "histories"
# The application whose only subscription's receiver is down.
DEAD_RECEIVER_APPLICATION = "5f0c1e43-3d0b-4c2e-9b8e-0a6c2f9d7e11"


async def _start(
    client: Client,
    task_queue: str,
    appointment: Appointment,
    policy: WorkflowPolicy,
    notifications: NotificationPolicy | None = None,
) -> WorkflowHandle:
    start = WithStartWorkflowOperation(
        AppointmentWorkflow.run,
        AppointmentState(
            appointment=appointment, policy=policy, notifications=notifications or NotificationPolicy()
        ),
        id=workflow_id(appointment.id),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=search_attributes(appointment),
    )
    await client.execute_update_with_start_workflow(
        SCHEDULE.name, start_workflow_operation=start, result_type=SCHEDULE.result
    )
    return await start.workflow_handle()


async def _lifecycle(client: Client, task_queue: str) -> WorkflowHandle:
    agent, client_service = principal(Role.AGENT), principal(Role.CLIENT_SERVICE)
    handle = await _start(client, task_queue, new_appointment(agent), WorkflowPolicy())
    await update(handle, UPDATE_DETAILS, UpdateDetails(actor=agent, title="Renamed"))
    later = datetime.now(UTC) + timedelta(days=3)
    await update(
        handle,
        RESCHEDULE,
        Reschedule(actor=agent, start=later, duration=timedelta(minutes=45), timezone="Asia/Tokyo"),
    )
    await update(handle, ACTIVATE, ActorCommand(actor=client_service))
    await update(handle, ACTIVATE, ActorCommand(actor=client_service))
    await update(handle, END, ActorCommand(actor=agent))
    await handle.result()
    return handle


async def _deleted(client: Client, task_queue: str) -> WorkflowHandle:
    agent = principal(Role.AGENT)
    handle = await _start(client, task_queue, new_appointment(agent), WorkflowPolicy())
    await update(handle, DELETE, ActorCommand(actor=agent))
    await handle.result()
    return handle


async def _expired(client: Client, task_queue: str) -> WorkflowHandle:
    agent = principal(Role.AGENT)
    now = datetime.now(UTC)
    appointment = new_appointment(
        agent, start=now + timedelta(seconds=1), duration=timedelta(seconds=1), now=now
    )
    handle = await _start(client, task_queue, appointment, WorkflowPolicy(end_grace=timedelta(seconds=1)))
    await handle.result()
    return handle


async def _participants(client: Client, task_queue: str) -> WorkflowHandle:
    agent, supervisor = principal(Role.AGENT), principal(Role.SUPERVISOR)
    handle = await _start(client, task_queue, new_appointment(agent), WorkflowPolicy())
    await update(handle, ADD_AGENT, AgentCommand(actor=agent, user_id="helper-agent"))
    customer = CustomerDetails(
        name=Name(first_name="Second"), contact=Contact(primary_email="second@example.test")
    )
    added = await update(
        handle,
        ADD_CUSTOMER,
        AddCustomer(actor=agent, participant_id=str(uuid.uuid4()), customer=customer),
    )
    await update(
        handle,
        REMOVE_PARTICIPANT,
        RemoveParticipant(actor=supervisor, participant_id=added.participants[-1].id),
    )
    await update(handle, REASSIGN, AgentCommand(actor=supervisor, user_id="new-agent"))
    await update(handle, REASSIGN, AgentCommand(actor=supervisor, user_id="new-agent"))
    await update(handle, DELETE, ActorCommand(actor=supervisor))
    await handle.result()
    return handle


NOTIFY = NotificationPolicy(
    active=True,
    auto_activate=True,
    mail_from="cc@example.test",
    templates=(
        Template(type=NotificationType.CREATE, subject="Booked", text_body="{{roomUrl}}"),
        Template(type=NotificationType.RESCHEDULE, subject="Moved", text_body="{{time24}}"),
        Template(
            type=NotificationType.REMINDER,
            subject="Soon",
            text_body="{{time24}}",
            period=timedelta(seconds=5),
        ),
        Template(type=NotificationType.CANCELLED, subject="Cancelled", text_body="Sorry"),
        Template(type=NotificationType.FOLLOW_UP, subject="Thanks", text_body="Bye"),
    ),
)


async def _notified(client: Client, task_queue: str) -> WorkflowHandle:
    """autoActivate, CREATE, RESCHEDULE, a reminder, the end and the follow-up."""
    agent = principal(Role.AGENT)
    now = datetime.now(UTC)
    appointment = new_appointment(
        agent, start=now + timedelta(seconds=30), duration=timedelta(seconds=5), now=now
    )
    handle = await _start(client, task_queue, appointment, WorkflowPolicy(), NOTIFY)
    await update(
        handle,
        RESCHEDULE,
        Reschedule(
            actor=agent,
            start=now + timedelta(seconds=8),
            duration=timedelta(seconds=5),
            timezone="Europe/Berlin",
        ),
    )
    await asyncio.sleep(6)  # the reminder is due 5 s before the new start
    await update(handle, END, ActorCommand(actor=agent))
    await handle.result()
    return handle


async def _continued(client: Client, task_queue: str) -> WorkflowHandle:
    """Many changes: on a server suggesting continue-as-new early, the history ends in one."""
    agent = principal(Role.AGENT)
    started = await _start(client, task_queue, new_appointment(agent), WorkflowPolicy())
    handle = client.get_workflow_handle(started.id)
    first_run = (await handle.describe()).run_id
    # Updates until the run continues as new (how many depends on the events each one records).
    for n in range(60):
        await update(handle, UPDATE_DETAILS, UpdateDetails(actor=agent, title=f"v{n}"))
        if (await handle.describe()).run_id != first_run:
            break
    else:
        raise AssertionError("expected a continue-as-new")
    return client.get_workflow_handle(started.id, run_id=first_run)


async def _webhooks(client: Client, task_queue: str) -> WorkflowHandle:
    """Changes fanned out to two subscriptions, one of them answering 500 once."""
    agent = principal(Role.AGENT)
    handle = await _start(client, task_queue, new_appointment(agent), WorkflowPolicy())
    await update(handle, UPDATE_DETAILS, UpdateDetails(actor=agent, title="Renamed"))
    await update(handle, DELETE, ActorCommand(actor=agent))
    await handle.result()
    return handle


async def _ended_continued(client: Client, task_queue: str) -> WorkflowHandle:
    """Ended with deliveries and a follow-up still owed: the closed run continues as new when the
    server suggests it, carrying them."""
    agent = principal(Role.AGENT)
    state = ended_with_deliveries_owed(agent, datetime.now(UTC), str(uuid.uuid4()), WorkflowPolicy())
    handle = await client.start_workflow(
        AppointmentWorkflow.run, state, id=workflow_id(state.appointment.id), task_queue=task_queue
    )
    return await _first_run_continued(client, handle)


async def _dead_receiver_continued(client: Client, task_queue: str) -> WorkflowHandle:
    """Changes while the only subscription's receiver refuses connections: the run continues as
    new with a delivery in flight (cancelled, and carried over)."""
    agent = principal(Role.AGENT, application_id=DEAD_RECEIVER_APPLICATION)
    started = await _start(client, task_queue, new_appointment(agent), WorkflowPolicy())
    latest = client.get_workflow_handle(started.id)
    for n in range(60):
        await update(latest, UPDATE_DETAILS, UpdateDetails(actor=agent, title=f"v{n}"))
        if (await latest.describe()).run_id != started.result_run_id:
            break
    return await _first_run_continued(client, started)


async def _first_run_continued(client: Client, started: WorkflowHandle) -> WorkflowHandle:
    """The first run, once it has continued as new; the later ones are stopped (they wait a day)."""
    latest = client.get_workflow_handle(started.id)
    async with asyncio.timeout(60):
        while (await latest.describe()).run_id == started.result_run_id:  # noqa: ASYNC110 - polls the server
            await asyncio.sleep(0.2)
    await latest.terminate("recorded")
    return client.get_workflow_handle(started.id, run_id=started.result_run_id)


SCENARIOS = {
    "lifecycle": _lifecycle,
    "deleted": _deleted,
    "expired": _expired,
    "participants": _participants,
    "notified": _notified,
    "continued": _continued,
    "webhooks": _webhooks,
}
# Recorded again once the projection and the matching of webhooks ran as local activities
# (patch "local-database-calls"); the histories above keep the activities of older runs replaying.
LOCAL_CALLS = ("lifecycle", "notified", "continued", "webhooks")
SCENARIOS |= {f"{name}_local_calls": SCENARIOS[name] for name in LOCAL_CALLS}
# Recorded again once the state became one bounded object (patch "bounded-state"): the histories
# above keep the legacy runs replaying (workflows.legacy).
BOUNDED_STATE = ("lifecycle", "deleted", "expired", "participants", "notified", "continued", "webhooks")
SCENARIOS |= {f"{name}_bounded_state": SCENARIOS[name] for name in BOUNDED_STATE}
SCENARIOS |= {"ended_continued": _ended_continued, "dead_receiver_continued": _dead_receiver_continued}
# Recorded again once timed messages went out as local activities (patch "local-timed-messages"):
# the histories above keep the reminders sent as activities replaying.
LOCAL_TIMED_MESSAGES = ("notified",)
SCENARIOS |= {f"{name}_local_timed_messages": SCENARIOS[name] for name in LOCAL_TIMED_MESSAGES}


# The scenarios that need Temporal to suggest continue-as-new after a few events.
_SERVER_ARGS = {
    name: ["--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=40"]
    for name in (
        "continued",
        "continued_local_calls",
        "continued_bounded_state",
        "ended_continued",
        "dead_receiver_continued",
    )
}


async def _record(name: str, url: str, mail_port: int) -> None:
    engine = create_engine(url)
    receiver, server, serving = await start_receiver()
    receiver.statuses["/flaky"] = [500, 200]
    for path in ("/all", "/flaky"):
        await WebhookStore(engine).create(APPLICATION, receiver.url(path), ("*",), "s" * 32, {})
    dead = f"http://127.0.0.1:{free_port()}/dead"
    await WebhookStore(engine).create(DEAD_RECEIVER_APPLICATION, dead, ("*",), "s" * 32, {})
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        # Encrypted with the key of the stored histories, which every later session can read; the
        # worker uses this client's converter, whatever its settings' keys.
        data_converter=data_converter_for(
            session_settings({"PAYLOAD_KEYS": RECORDED_PAYLOAD_KEYS, "PAYLOAD_ACTIVE_KEY": "dev"})
        ),
        search_attributes=ALL_KEYS,
        dev_server_extra_args=_SERVER_ARGS.get(name, []),
    )
    task_queue = f"record-{uuid.uuid4()}"
    settings = session_settings({"SMTP_PORT": str(mail_port), "WEBHOOKS_ALLOW_LOOPBACK": "true"})
    try:
        async with build_worker(env.client, settings, engine, task_queue=task_queue):
            handle = await SCENARIOS[name](env.client, task_queue)
            history = await handle.fetch_history()
        path = HISTORIES / f"{name}.json"
        path.write_text(history.to_json())
        print(f"recorded {path} ({len(history.events)} events)")
    finally:
        await env.shutdown()
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM webhooks"))
        await engine.dispose()
        server.should_exit = True
        await serving


async def record() -> None:
    """Records the scenarios that have no history yet; existing histories are never rewritten."""
    missing = [name for name in SCENARIOS if not (HISTORIES / f"{name}.json").exists()]
    if not missing:
        print("every scenario has a history; delete none of them, add a scenario instead")
        return
    with TemporaryDirectory() as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", database="replay", stop_with_owner=True)
        sink = SmtpSink(Path(tmp) / "mail", port=0)
        url = to_sqlalchemy_url(pg.start())
        sink.start()
        try:
            await asyncio.to_thread(upgrade, url)
            for name in missing:
                await _record(name, url, sink.port)
        finally:
            sink.stop()
            pg.stop()


if __name__ == "__main__":
    asyncio.run(record())
