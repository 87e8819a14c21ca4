"""A long-lived appointment continues as new when Temporal suggests it, keeping its state.

The suggestion threshold is lowered on a dedicated dev server so a handful of changes
trigger it, exactly as thousands of events would in production.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from domain.access import Role
from domain.lifecycle import UpdateDetails
from domain.model import WorkflowPolicy
from storage.appointments import AppointmentStore
from tests.support.factories import new_appointment, principal
from tests.support.secrets import session_settings
from tests.support.stack import SANDBOXED, service_data_converter, temporal_cli
from worker import build_worker
from workflows.appointment import AppointmentInput, AppointmentWorkflow, workflow_id
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
            AppointmentInput(appointment=appointment, policy=WorkflowPolicy(end_grace=timedelta(minutes=5))),
            id=workflow_id(appointment.id),
            task_queue=task_queue,
        )
        first_run = (await handle.describe()).run_id
        for n in range(12):
            await handle.execute_update(
                AppointmentWorkflow.update_details, UpdateDetails(actor=agent, title=f"v{n}")
            )

        latest = eager_server.client.get_workflow_handle(workflow_id(appointment.id))
        description = await latest.describe()
        assert description.run_id != first_run, "the workflow should have continued as new"
        current = await latest.query(AppointmentWorkflow.appointment)
        assert current.title == "v11" and current.version == 13
        # Changes keep working in the new run, and the read model follows.
        await latest.execute_update(
            AppointmentWorkflow.update_details, UpdateDetails(actor=agent, title="after")
        )
        stored = await AppointmentStore(engine).get(appointment.id)
        assert stored is not None and stored.title == "after" and stored.version == 14
