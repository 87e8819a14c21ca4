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

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment

from config import Settings
from config.settings import to_sqlalchemy_url
from devstack.postgres import EmbeddedPostgres
from domain.access import Role
from domain.lifecycle import ActorCommand, Reschedule, UpdateDetails
from domain.model import Appointment, WorkflowPolicy
from storage.database import create_engine
from storage.migrations import upgrade
from tests.support.factories import new_appointment, principal
from tests.support.stack import temporal_cli
from worker import build_worker
from workflows.appointment import AppointmentInput, AppointmentWorkflow, workflow_id
from workflows.converter import data_converter
from workflows.search import ALL_KEYS, search_attributes

HISTORIES = Path(__file__).parent / "histories"


async def _start(
    client: Client, task_queue: str, appointment: Appointment, policy: WorkflowPolicy
) -> WorkflowHandle:
    start = WithStartWorkflowOperation(
        AppointmentWorkflow.run,
        AppointmentInput(appointment=appointment, policy=policy),
        id=workflow_id(appointment.id),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=search_attributes(appointment),
    )
    await client.execute_update_with_start_workflow(
        AppointmentWorkflow.schedule, start_workflow_operation=start
    )
    return await start.workflow_handle()


async def _lifecycle(client: Client, task_queue: str) -> WorkflowHandle:
    agent, client_service = principal(Role.AGENT), principal(Role.CLIENT_SERVICE)
    handle = await _start(client, task_queue, new_appointment(agent), WorkflowPolicy())
    await handle.execute_update(
        AppointmentWorkflow.update_details, UpdateDetails(actor=agent, title="Renamed")
    )
    later = datetime.now(UTC) + timedelta(days=3)
    await handle.execute_update(
        AppointmentWorkflow.reschedule,
        Reschedule(actor=agent, start=later, duration=timedelta(minutes=45), timezone="Asia/Tokyo"),
    )
    await handle.execute_update(AppointmentWorkflow.activate, ActorCommand(actor=client_service))
    await handle.execute_update(AppointmentWorkflow.activate, ActorCommand(actor=client_service))
    await handle.execute_update(AppointmentWorkflow.end, ActorCommand(actor=agent))
    await handle.result()
    return handle


async def _deleted(client: Client, task_queue: str) -> WorkflowHandle:
    agent = principal(Role.AGENT)
    handle = await _start(client, task_queue, new_appointment(agent), WorkflowPolicy())
    await handle.execute_update(AppointmentWorkflow.delete, ActorCommand(actor=agent))
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


SCENARIOS = {"lifecycle": _lifecycle, "deleted": _deleted, "expired": _expired}


async def record() -> None:
    with TemporaryDirectory() as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", database="replay", stop_with_owner=True)
        url = to_sqlalchemy_url(pg.start())
        try:
            await asyncio.to_thread(upgrade, url)
            engine = create_engine(url)
            env = await WorkflowEnvironment.start_local(
                dev_server_existing_path=temporal_cli(),
                data_converter=data_converter,
                search_attributes=ALL_KEYS,
            )
            task_queue = f"record-{uuid.uuid4()}"
            try:
                async with build_worker(env.client, Settings.from_env({}), engine, task_queue=task_queue):
                    for name, scenario in SCENARIOS.items():
                        handle = await scenario(env.client, task_queue)
                        history = await handle.fetch_history()
                        path = HISTORIES / f"{name}.json"
                        path.write_text(history.to_json())
                        print(f"recorded {path} ({len(history.events)} events)")
            finally:
                await env.shutdown()
                await engine.dispose()
        finally:
            pg.stop()


if __name__ == "__main__":
    asyncio.run(record())
