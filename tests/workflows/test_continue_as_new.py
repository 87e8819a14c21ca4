"""A long-lived appointment continues as new when Temporal suggests it, keeping its state.

The suggestion threshold is lowered on a dedicated dev server so a handful of changes
trigger it, exactly as thousands of events would in production.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from domain.access import Role
from domain.commands import UPDATE_DETAILS
from domain.lifecycle import UpdateDetails
from domain.model import Status, WorkflowPolicy
from domain.workflow_state import AppointmentState
from storage.appointments import AppointmentStore
from tests.support.factories import new_appointment, principal
from tests.support.histories import runs
from tests.support.receiver import Receiver
from tests.support.secrets import session_settings
from tests.support.stack import SANDBOXED, service_data_converter, temporal_cli
from tests.support.updates import update
from tests.workflows.test_bounds import ended_with_deliveries_owed, received_once, subscribe
from worker import build_worker
from workflows.appointment import AppointmentWorkflow, workflow_id
from workflows.search import ALL_KEYS


@pytest.fixture(scope="module")
async def eager_server() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        data_converter=service_data_converter(),
        search_attributes=ALL_KEYS,
        dev_server_extra_args=["--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=40"],
    )
    yield env
    await env.shutdown()


async def test_state_survives_continue_as_new(eager_server: WorkflowEnvironment, engine: AsyncEngine) -> None:
    task_queue = f"can-{uuid.uuid4()}"
    agent = principal(Role.AGENT)
    appointment = new_appointment(agent)
    async with build_worker(eager_server.client, session_settings(SANDBOXED), engine, task_queue=task_queue):
        handle = await eager_server.client.start_workflow(
            AppointmentWorkflow.run,
            AppointmentState(appointment=appointment, policy=WorkflowPolicy(end_grace=timedelta(minutes=5))),
            id=workflow_id(appointment.id),
            task_queue=task_queue,
        )
        first_run = (await handle.describe()).run_id
        for n in range(12):
            await update(handle, UPDATE_DETAILS, UpdateDetails(actor=agent, title=f"v{n}"))

        latest = eager_server.client.get_workflow_handle(workflow_id(appointment.id))
        description = await latest.describe()
        assert description.run_id != first_run, "the workflow should have continued as new"
        current = await latest.query(AppointmentWorkflow.appointment)
        assert current.title == "v11" and current.version == 13
        # Changes keep working in the new run, and the read model follows.
        await update(latest, UPDATE_DETAILS, UpdateDetails(actor=agent, title="after"))
        stored = await AppointmentStore(engine).get(appointment.id)
        assert stored is not None and stored.title == "after" and stored.version == 14


async def test_a_closed_run_follows_the_servers_suggestion(
    eager_server: WorkflowEnvironment, engine: AsyncEngine, receiver: Receiver
) -> None:
    """Ended with a follow-up still an hour away: the server's suggestion, not the run's own limit,
    hands the closed run over (the old workflow spun here until the deadlock detector failed it),
    and the next run delivers the rest and waits for the follow-up."""
    task_queue = f"can-{uuid.uuid4()}"
    agent = principal(Role.AGENT, application_id=str(uuid.uuid4()))
    webhook_id = await subscribe(engine, agent.application_id, receiver.url("/closed"))
    state = ended_with_deliveries_owed(agent, datetime.now(UTC), webhook_id, WorkflowPolicy())
    settings = session_settings({"WEBHOOKS_ALLOW_LOOPBACK": "true", **SANDBOXED})
    async with build_worker(eager_server.client, settings, engine, task_queue=task_queue):
        handle = await eager_server.client.start_workflow(
            AppointmentWorkflow.run, state, id=workflow_id(state.appointment.id), task_queue=task_queue
        )
        await receiver.wait_for("/closed", len(state.deliveries))
        assert handle.result_run_id is not None
        found = await runs(eager_server.client, handle.id, handle.result_run_id)

    assert len(found) >= 2 and all(run.started_with.appointment.status is Status.ENDED for run in found)
    assert all(not run.failed_tasks for run in found)
    assert received_once(receiver, "/closed", state.deliveries)
    # Still running: the follow-up is owed.
    assert not found[-1].continued_as_new
    assert (await eager_server.client.get_workflow_handle(handle.id).describe()).status is (
        WorkflowExecutionStatus.RUNNING
    )
    await eager_server.client.get_workflow_handle(handle.id).terminate("test over")
