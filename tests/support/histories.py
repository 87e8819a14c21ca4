"""What each run of a workflow left in Temporal: its events, its largest payload, its input.

Runs are followed from the first along their continue-as-new links, so this works on the
time-skipping test server (which has no visibility store) as on a dev server.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from domain.workflow_state import AppointmentState
from workflows.appointment import workflow_id

_FAILED_TASKS = frozenset(
    {EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT}
)
_NEW_EVENTS_ARRIVED = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND


@dataclass
class Run:
    run_id: str
    events: list[HistoryEvent]
    started_with: AppointmentState

    @property
    def length(self) -> int:
        return len(self.events)

    @property
    def largest_payload(self) -> int:
        """Bytes of the largest payload any event of the run holds, as the server stores it."""
        return max((size for event in self.events for size in payload_sizes(event)), default=0)

    @property
    def failed_tasks(self) -> list[str]:
        """Why workflow tasks failed or timed out: a task that loops without yielding is one.

        Not counted: a completion the server turned down because new events had arrived meanwhile
        (UNHANDLED_COMMAND); the worker runs the task again with them, as it should.
        """
        return [
            event.workflow_task_failed_event_attributes.failure.message
            or WorkflowTaskFailedCause.Name(event.workflow_task_failed_event_attributes.cause)
            for event in self.events
            if event.event_type in _FAILED_TASKS
            and event.workflow_task_failed_event_attributes.cause != _NEW_EVENTS_ARRIVED
        ]

    @property
    def continued_as_new(self) -> bool:
        return self.events[-1].HasField("workflow_execution_continued_as_new_event_attributes")


def payload_sizes(message: Message) -> Iterator[int]:
    """The size of every Payload anywhere inside `message`."""
    if isinstance(message, Payload):
        yield message.ByteSize()
        return
    for field, value in message.ListFields():
        if field.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        if field.message_type.GetOptions().map_entry:
            holds_messages = field.message_type.fields_by_name["value"].type == FieldDescriptor.TYPE_MESSAGE
            items: Any = value.values() if holds_messages else ()
        elif field.is_repeated:
            items = value
        else:
            items = (value,)
        for item in items:
            yield from payload_sizes(item)


async def runs(client: Client, workflow_id: str, first_run_id: str) -> list[Run]:
    """Every run of the workflow, in order, from `first_run_id` to the latest."""
    found: list[Run] = []
    run_id: str | None = first_run_id
    while run_id:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        events = [event async for event in handle.fetch_history_events()]
        started = events[0].workflow_execution_started_event_attributes
        (state,) = await client.data_converter.decode(started.input.payloads, [AppointmentState])
        found.append(Run(run_id, events, state))
        last = events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.HasField("workflow_execution_continued_as_new_event_attributes")
            else None
        )
    return found


async def pending_work(client: Client, ids: list[str]) -> dict[str, list[str]]:
    """Per workflow with work outstanding: its pending activities and workflow task."""
    busy: dict[str, list[str]] = {}
    for appointment_id in ids:
        raw = (await client.get_workflow_handle(workflow_id(appointment_id)).describe()).raw_description
        work = [a.activity_type.name for a in raw.pending_activities]
        if raw.HasField("pending_workflow_task"):
            work.append("workflow task")
        if work:
            busy[appointment_id] = work
    return busy
