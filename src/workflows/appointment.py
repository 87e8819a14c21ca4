"""`AppointmentWorkflow`: the durable source of truth of one appointment.

Every write arrives as an Update whose validator runs the same pure rule as its handler
(domain.lifecycle), so a refused change never enters history. Handlers change the state,
project it into the read model and return it, so the API caller reads its own write. The
main loop sleeps until the next deadline or change (the updatable-timer pattern) and
re-plans after every change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import lifecycle
    from domain.activity_names import PROJECT_APPOINTMENT, PROVISION_ROOM
    from domain.errors import DomainError
    from domain.lifecycle import (
        ActorCommand,
        AddCustomer,
        AgentCommand,
        RemoveParticipant,
        Reschedule,
        UpdateDetails,
    )
    from domain.model import Appointment, Base, RoomAccess, RoomRequest, WorkflowPolicy
    from workflows.search import search_attributes

T = TypeVar("T")

WORKFLOW_NAME = "AppointmentWorkflow"

# The read model must catch up however long the database is away: retry without limit,
# backing off to one attempt a minute.
_PROJECTION_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(minutes=1)
)
_ROOM_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=30)
)


def workflow_id(appointment_id: str) -> str:
    return f"appointment-{appointment_id}"


class AppointmentInput(Base):
    appointment: Appointment
    policy: WorkflowPolicy
    # Carried across continue-as-new so the new run does not project the same version again.
    projected_version: int = 0


def _refusal(error: DomainError) -> ApplicationError:
    return ApplicationError(
        error.message,
        {"kind": error.kind.value, "field": error.field},
        type=error.kind.value,
        non_retryable=True,
    )


def _judge(rule: Callable[[], T]) -> T:
    """Run a domain rule, turning its refusal into a failure the API can map to a status."""
    try:
        return rule()
    except DomainError as error:
        raise _refusal(error) from None


@workflow.defn(name=WORKFLOW_NAME)
class AppointmentWorkflow:
    @workflow.init
    def __init__(self, input: AppointmentInput) -> None:
        self._appointment = input.appointment
        self._policy = input.policy
        self._projected_version = input.projected_version
        self._projection_lock = asyncio.Lock()
        self._room_lock = asyncio.Lock()
        self._changed = False

    @workflow.run
    async def run(self, input: AppointmentInput) -> Appointment:
        await self._project()
        while (deadline := lifecycle.next_deadline(self._appointment, self._policy)) is not None:
            self._changed = False
            try:
                await workflow.wait_condition(
                    lambda: self._changed or workflow.info().is_continue_as_new_suggested(),
                    timeout=max(deadline - workflow.now(), timedelta(0)),
                    timeout_summary="end of interaction",
                )
            except TimeoutError:
                if workflow.now() >= deadline and self._appointment.status.is_open:
                    self._commit(lifecycle.expire(self._appointment, workflow.now()))
                    await self._project()
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if self._appointment.status.is_open:
                    workflow.continue_as_new(
                        AppointmentInput(
                            appointment=self._appointment,
                            policy=self._policy,
                            projected_version=self._projected_version,
                        )
                    )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._appointment

    # -- reads -------------------------------------------------------------------------

    @workflow.query
    def appointment(self) -> Appointment:
        return self._appointment

    # -- writes ------------------------------------------------------------------------

    @workflow.update(name="schedule")
    async def schedule(self) -> Appointment:
        """The first update of update-with-start: answers once the new appointment is visible."""
        await self._project()
        return self._appointment

    @workflow.update(name="update_details")
    async def update_details(self, command: UpdateDetails) -> Appointment:
        return await self._change(
            lambda: lifecycle.update_details(self._appointment, command, workflow.now())
        )

    @update_details.validator
    def _validate_update_details(self, command: UpdateDetails) -> None:
        _judge(lambda: lifecycle.update_details(self._appointment, command, workflow.now()))

    @workflow.update(name="reschedule")
    async def reschedule(self, command: Reschedule) -> Appointment:
        return await self._change(
            lambda: lifecycle.reschedule(self._appointment, command, self._policy, workflow.now())
        )

    @reschedule.validator
    def _validate_reschedule(self, command: Reschedule) -> None:
        _judge(lambda: lifecycle.reschedule(self._appointment, command, self._policy, workflow.now()))

    @workflow.update(name="add_agent")
    async def add_agent(self, command: AgentCommand) -> Appointment:
        return await self._change(lambda: lifecycle.add_agent(self._appointment, command, workflow.now()))

    @add_agent.validator
    def _validate_add_agent(self, command: AgentCommand) -> None:
        _judge(lambda: lifecycle.add_agent(self._appointment, command, workflow.now()))

    @workflow.update(name="add_customer")
    async def add_customer(self, command: AddCustomer) -> Appointment:
        return await self._change(lambda: lifecycle.add_customer(self._appointment, command, workflow.now()))

    @add_customer.validator
    def _validate_add_customer(self, command: AddCustomer) -> None:
        _judge(lambda: lifecycle.add_customer(self._appointment, command, workflow.now()))

    @workflow.update(name="remove_participant")
    async def remove_participant(self, command: RemoveParticipant) -> Appointment:
        return await self._change(
            lambda: lifecycle.remove_participant(self._appointment, command, workflow.now())
        )

    @remove_participant.validator
    def _validate_remove_participant(self, command: RemoveParticipant) -> None:
        _judge(lambda: lifecycle.remove_participant(self._appointment, command, workflow.now()))

    @workflow.update(name="reassign")
    async def reassign(self, command: AgentCommand) -> Appointment:
        return await self._change(lambda: lifecycle.reassign(self._appointment, command, workflow.now()))

    @reassign.validator
    def _validate_reassign(self, command: AgentCommand) -> None:
        _judge(lambda: lifecycle.reassign(self._appointment, command, workflow.now()))

    @workflow.update(name="activate")
    async def activate(self, command: ActorCommand) -> RoomAccess:
        # One room per appointment: a second activation waits for the first and reuses its room.
        async with self._room_lock:
            _judge(lambda: lifecycle.check_activate(self._appointment, command.actor))
            if self._appointment.room_access is None:
                room = await workflow.execute_activity(
                    PROVISION_ROOM,
                    RoomRequest(
                        appointment_id=self._appointment.id,
                        application_id=self._appointment.application_id,
                        expires=lifecycle.end_of_interaction(self._appointment, self._policy),
                    ),
                    result_type=RoomAccess,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=_ROOM_RETRY,
                )
                # The appointment may have been ended or deleted while the room was made.
                _judge(lambda: lifecycle.check_activate(self._appointment, command.actor))
                self._commit(lifecycle.activate(self._appointment, room, workflow.now()))
        await self._project()
        assert self._appointment.room_access is not None
        return self._appointment.room_access

    @activate.validator
    def _validate_activate(self, command: ActorCommand) -> None:
        _judge(lambda: lifecycle.check_activate(self._appointment, command.actor))

    @workflow.update(name="end")
    async def end(self, command: ActorCommand) -> Appointment:
        return await self._change(lambda: lifecycle.end(self._appointment, command.actor, workflow.now()))

    @end.validator
    def _validate_end(self, command: ActorCommand) -> None:
        _judge(lambda: lifecycle.end(self._appointment, command.actor, workflow.now()))

    @workflow.update(name="delete")
    async def delete(self, command: ActorCommand) -> Appointment:
        return await self._change(lambda: lifecycle.delete(self._appointment, command.actor, workflow.now()))

    @delete.validator
    def _validate_delete(self, command: ActorCommand) -> None:
        _judge(lambda: lifecycle.delete(self._appointment, command.actor, workflow.now()))

    # -- internals ---------------------------------------------------------------------

    async def _change(self, rule: Callable[[], Appointment]) -> Appointment:
        # Validators and handlers of updates accepted in one activation may interleave, so
        # the rule is judged again against the state the handler actually changes.
        changed = _judge(rule)
        if changed is self._appointment:
            return changed  # nothing to change (e.g. reassigned to the current organizer)
        self._commit(changed)
        await self._project()
        return changed

    def _commit(self, appointment: Appointment) -> None:
        previous = self._appointment
        self._appointment = appointment
        self._changed = True
        if (previous.status, previous.start, previous.organizer) != (
            appointment.status,
            appointment.start,
            appointment.organizer,
        ):
            workflow.upsert_search_attributes(
                [pair.key.value_set(pair.value) for pair in search_attributes(appointment).search_attributes]
            )

    async def _project(self) -> None:
        """Bring the read model up to at least the current version.

        Projections run one at a time and always write the latest state, so concurrent
        changes coalesce and the read model never moves backwards.
        """
        target = self._appointment.version
        async with self._projection_lock:
            if self._projected_version >= target:
                return
            snapshot = self._appointment
            await workflow.execute_activity(
                PROJECT_APPOINTMENT,
                snapshot,
                start_to_close_timeout=timedelta(seconds=15),
                retry_policy=_PROJECTION_RETRY,
            )
            self._projected_version = snapshot.version
