"""Sends the API's writes to appointment workflows as Updates, and maps their outcomes.

Every write is a command of domain.commands, sent by its name with its result type. A refused
Update comes back as an ApplicationError whose type is the domain's ErrorKind; a workflow that
no longer runs means the appointment was deleted or has ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import msgspec
from temporalio import common
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ServiceUnavailable
from api.update_gate import UpdateGate
from domain import operator_view
from domain.commands import SCHEDULE, Command
from domain.errors import DomainError, ErrorKind, conflict, not_found
from domain.model import Appointment, WorkflowPolicy
from domain.workflow_state import AppointmentState
from storage.applications import ApplicationStore
from storage.appointments import AppointmentStore
from workflows.appointment import AppointmentWorkflow, workflow_id
from workflows.search import search_attributes

R = TypeVar("R")

# How long the API waits for an Update's outcome (the rpc_timeout of the Update call). An
# accepted Update whose handler waits for something slow (the projection activity retries until
# PostgreSQL is back) answers 503 after this; the change is durable in the workflow and reaches
# the read model later.
UPDATE_TIMEOUT = timedelta(seconds=10)
# A deadline around every Update call, for calls made without an rpc_timeout: a little later,
# so that calls with one end by the SDK's own deadline rather than by cancellation.
_CALL_DEADLINE = UPDATE_TIMEOUT + timedelta(seconds=1)


class AppointmentWorkflows:
    def __init__(
        self,
        client: Client,
        *,
        task_queue: str,
        policy: WorkflowPolicy,
        store: AppointmentStore,
        applications: ApplicationStore,
    ) -> None:
        self._client = client
        self._applications = applications
        self._task_queue = task_queue
        self._policy = policy
        self._store = store
        self._gate = UpdateGate()

    async def schedule(self, appointment: Appointment) -> Appointment:
        """Start the appointment's workflow and wait until the appointment is readable.

        The application's settings are read now and travel with the workflow: later changes
        of settings do not alter what this appointment promised.
        """
        notifications = await self._applications.policy_for(appointment.application_id)
        appointment = msgspec.structs.replace(appointment, notifications_active=notifications.active)
        start = WithStartWorkflowOperation(
            AppointmentWorkflow.run,
            AppointmentState(appointment=appointment, policy=self._policy, notifications=notifications),
            id=workflow_id(appointment.id),
            task_queue=self._task_queue,
            # A repeated request (same Idempotency-Key, so same id) joins the running workflow;
            # an id whose workflow has closed is never started again.
            id_conflict_policy=common.WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=common.WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=search_attributes(appointment),
            # What an operator reads in the list of workflows: no personal data.
            static_summary=operator_view.summary(appointment),
        )
        try:
            return await self._call(
                appointment.id,
                lambda: self._client.execute_update_with_start_workflow(
                    SCHEDULE.name,
                    start_workflow_operation=start,
                    result_type=SCHEDULE.result,
                    rpc_timeout=UPDATE_TIMEOUT,
                ),
            )
        except WorkflowAlreadyStartedError:
            raise conflict(
                "this Idempotency-Key already made an appointment that has since ended or been deleted",
                "Idempotency-Key",
            ) from None
        finally:
            # The SDK keeps a failed start's error on the operation; read it so that it is not
            # reported as "never retrieved". There is no public way to ask whether it is set.
            outcome = start._workflow_handle
            if outcome.done() and not outcome.cancelled():
                outcome.exception()

    async def send(self, command: Command, appointment_id: str, argument: Any) -> Any:
        """`command` with its `argument` to the appointment's workflow; its result (the
        appointment, or the room of an activation)."""
        handle = self._client.get_workflow_handle(workflow_id(appointment_id))
        return await self._call(
            appointment_id,
            lambda: handle.execute_update(
                command.name, argument, result_type=command.result, rpc_timeout=UPDATE_TIMEOUT
            ),
        )

    async def _call(self, appointment_id: str, call: Callable[[], Awaitable[R]]) -> R:
        """One Update, queued behind the others in flight to the same appointment; the queueing
        counts against the same deadline."""
        try:
            async with asyncio.timeout(_CALL_DEADLINE.total_seconds()), self._gate.slot(appointment_id):
                return await call()
        except WorkflowUpdateFailedError as exc:
            refusal = _refusal(exc.cause)
            if isinstance(refusal, DomainError) and refusal.kind is ErrorKind.UNAVAILABLE:
                raise ServiceUnavailable(refusal.message) from None
            raise refusal from None
        except (WorkflowUpdateRPCTimeoutOrCancelledError, TimeoutError):
            raise ServiceUnavailable(
                "the appointment did not confirm the change in time; it may still apply: "
                "read the appointment before retrying"
            ) from None
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                raise await self._closed(appointment_id) from None
            if exc.status is RPCStatusCode.RESOURCE_EXHAUSTED:
                raise ServiceUnavailable(
                    "too many changes to this appointment are in flight; retry the request"
                ) from None
            if exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
                raise ServiceUnavailable("the workflow service is unavailable; retry the request") from None
            raise

    async def _closed(self, appointment_id: str) -> DomainError:
        """The workflow is gone: tell a never-seen or deleted appointment from an ended one."""
        appointment = await self._store.get(appointment_id)
        if appointment is None or not appointment.status.is_visible:
            return not_found()
        return conflict(f"the appointment is {appointment.status.value.lower()} and can no longer change")


def _refusal(cause: BaseException | None) -> DomainError | BaseException:
    if isinstance(cause, ApplicationError) and cause.type in ErrorKind.__members__:
        details = cause.details[0] if cause.details else {}
        field = details.get("field") if isinstance(details, dict) else None
        return DomainError(ErrorKind(cause.type), cause.message, field)
    return cause or RuntimeError("update failed without a cause")
