"""The appointment workflow on the time-skipping server, with the real read model."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.access import Role
from domain.commands import ACTIVATE, DELETE, RESCHEDULE, SCHEDULE, UPDATE_DETAILS
from domain.lifecycle import ActorCommand, Reschedule, UpdateDetails
from domain.model import Appointment, InteractionState, Status, WorkflowPolicy
from domain.workflow_state import AppointmentState
from storage.appointments import AppointmentStore
from tests.support.factories import new_appointment, principal
from tests.support.updates import update
from workflows.appointment import AppointmentWorkflow, workflow_id

POLICY = WorkflowPolicy(end_grace=timedelta(minutes=10))


async def _start(env: WorkflowEnvironment, worker: Worker, appointment: Appointment) -> WorkflowHandle:
    handle = await env.client.start_workflow(
        AppointmentWorkflow.run,
        AppointmentState(appointment=appointment, policy=POLICY),
        id=workflow_id(appointment.id),
        task_queue=worker.task_queue,
    )
    await update(handle, SCHEDULE)
    return handle


async def _update_names(handle: WorkflowHandle) -> list[str]:
    names = []
    async for event in handle.fetch_history_events():
        if event.HasField("workflow_execution_update_accepted_event_attributes"):
            names.append(
                event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            )
    return names


async def test_schedule_projects_the_appointment(
    time_env: WorkflowEnvironment, worker: Worker, engine
) -> None:
    agent = principal(Role.AGENT)
    appointment = new_appointment(agent, now=await time_env.get_current_time())
    await _start(time_env, worker, appointment)
    stored = await AppointmentStore(engine).get(appointment.id)
    assert stored == appointment


async def test_reschedule_rearms_the_end_of_interaction_timer(
    time_env: WorkflowEnvironment, worker: Worker, engine
) -> None:
    agent = principal(Role.AGENT)
    now = await time_env.get_current_time()
    appointment = new_appointment(agent, start=now + timedelta(hours=1), now=now)
    handle = await _start(time_env, worker, appointment)

    moved = await update(
        handle,
        RESCHEDULE,
        Reschedule(
            actor=agent, start=now + timedelta(hours=5), duration=timedelta(minutes=45), timezone="Asia/Tokyo"
        ),
    )
    assert moved.version == 2 and moved.end == now + timedelta(hours=5, minutes=45)

    # Past the old deadline (1h30 + grace) the appointment must still be open ...
    await time_env.sleep(timedelta(hours=3))
    assert (await handle.query(AppointmentWorkflow.appointment)).status is Status.SCHEDULED
    # ... and past the new one it has expired, and the workflow is complete.
    final = await handle.result()
    assert final.status is Status.ENDED
    assert final.interaction.state is InteractionState.EXPIRED
    assert await time_env.get_current_time() >= moved.end + POLICY.end_grace
    stored = await AppointmentStore(engine).get(appointment.id)
    assert stored is not None and stored.status is Status.ENDED and stored.version == final.version


async def test_delete_completes_the_workflow(time_env: WorkflowEnvironment, worker: Worker, engine) -> None:
    agent = principal(Role.AGENT)
    appointment = new_appointment(agent, now=await time_env.get_current_time())
    handle = await _start(time_env, worker, appointment)

    deleted = await update(handle, DELETE, ActorCommand(actor=agent))
    assert deleted.status is Status.DELETED
    result = await handle.result()
    assert result.status is Status.DELETED
    assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED
    stored = await AppointmentStore(engine).get(appointment.id)
    assert stored is not None and stored.status is Status.DELETED


async def test_rejected_update_leaves_no_trace_in_history(
    time_env: WorkflowEnvironment, worker: Worker
) -> None:
    organizer = principal(Role.AGENT)
    stranger = principal(Role.AGENT)
    appointment = new_appointment(organizer, now=await time_env.get_current_time())
    handle = await _start(time_env, worker, appointment)

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await update(handle, UPDATE_DETAILS, UpdateDetails(actor=stranger, title="hijacked"))
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "FORBIDDEN"

    past = await time_env.get_current_time() - timedelta(days=2)
    with pytest.raises(WorkflowUpdateFailedError) as invalid:
        await update(
            handle,
            RESCHEDULE,
            Reschedule(actor=organizer, start=past, duration=timedelta(minutes=5), timezone="UTC"),
        )
    assert (
        isinstance(invalid.value.cause, ApplicationError)
        and invalid.value.cause.details[0]["field"] == "start"
    )

    assert await _update_names(handle) == ["schedule"]
    current = await handle.query(AppointmentWorkflow.appointment)
    assert current.version == 1 and current.title == appointment.title


async def test_activation_is_idempotent_and_reschedule_moves_room_expiry(
    time_env: WorkflowEnvironment, worker: Worker
) -> None:
    agent = principal(Role.AGENT)
    client_service = principal(Role.CLIENT_SERVICE)
    now = await time_env.get_current_time()
    appointment = new_appointment(agent, start=now + timedelta(hours=2), now=now)
    handle = await _start(time_env, worker, appointment)

    room = await update(handle, ACTIVATE, ActorCommand(actor=client_service))
    again = await update(handle, ACTIVATE, ActorCommand(actor=client_service))
    assert again == room
    assert room.url.startswith("https://rooms.example.test/q/")
    assert room.expires == appointment.end + POLICY.end_grace

    moved = await update(
        handle,
        RESCHEDULE,
        Reschedule(
            actor=agent, start=now + timedelta(hours=4), duration=timedelta(minutes=30), timezone="UTC"
        ),
    )
    assert moved.status is Status.ACTIVATED
    assert moved.room_access is not None and moved.room_access.url == room.url
    assert moved.room_access.expires == moved.end + POLICY.end_grace
