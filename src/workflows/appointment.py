"""`AppointmentWorkflow`: the durable source of truth of one appointment.

Its whole state is one struct (domain.workflow_state.AppointmentState), handed whole to the next
run when it continues as new. It composes small pieces: the updatable timer of its main loop, the
outbox of messages, the projection that records every change (read model and webhook events) and
the fan-out of webhook deliveries. Every write is an Update declared once in domain.commands: the
workflow registers, for each, a validator that runs the command's rule (so a refused change never
enters history) and a handler that runs it again against the current state, announces the change
and records it, so the API caller reads its own write.

Runs started before this shape (histories without the `bounded-state` marker) are handed to
workflows.legacy, which replays and continues them as they were written.
"""

# No `from __future__ import annotations`: the sandbox re-imports this module for every workflow
# it runs, and string annotations would be compiled again each time by the SDK's type-hint lookup.
import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.fanout import WebhookFanout
from workflows.legacy import LegacyRun
from workflows.outbox import LOCAL_TIMED_MESSAGES_PATCH, Outbox
from workflows.planning import MessagePlanning
from workflows.projection import Projection
from workflows.refusals import judge
from workflows.timer import UpdatableTimer

with workflow.unsafe.imports_passed_through():
    from domain import lifecycle, notification_plan, operator_view
    from domain.access import system_actor
    from domain.activity_names import PROVISION_ROOM
    from domain.commands import ACTIVATE, CHANGES, SCHEDULE, Command, Context
    from domain.errors import ErrorKind
    from domain.lifecycle import ActorCommand
    from domain.metric_names import APPOINTMENTS_SCHEDULED
    from domain.model import Appointment, RoomAccess, RoomRequest
    from domain.notifications import Message, NotificationType
    from domain.webhooks import EventType, event_id
    from domain.workflow_input import AppointmentInput
    from domain.workflow_state import AppointmentState, ChangeEvent
    from workflows.search import search_attributes

WORKFLOW_NAME = "AppointmentWorkflow"
# Runs that record the marker of this patch have the state of domain.workflow_state and this code;
# the others are legacy runs.
BOUNDED_STATE_PATCH = "bounded-state"

# A room that cannot be opened within this is the Update's failure, not a wait without end.
_ROOM_GIVE_UP = timedelta(minutes=1)
_ROOM_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10)
)


# Temporal's default suggestion to continue as new comes at this history size, too; a run continues
# at it whether or not the server suggests it (the event count is the policy's `history_limit`).
HISTORY_SIZE_LIMIT = 4 * 1024 * 1024


def workflow_id(appointment_id: str) -> str:
    return f"appointment-{appointment_id}"


def _unavailable(message: str) -> ApplicationError:
    """A failure of what the change needs (database, room provider): the API answers 503."""
    return ApplicationError(message, type=ErrorKind.UNAVAILABLE.value, non_retryable=True)


def _typed(fn: Callable[..., Any], argument: type | None, result: type) -> Callable[..., Any]:
    """`fn(self[, argument])` with the types by which the SDK decodes the Update's argument and
    encodes its result."""
    fn.__annotations__ = {**({"argument": argument} if argument else {}), "return": result}
    return fn


def _change_update(command: Command) -> Callable[..., Any]:
    """The Update of a change declared in domain.commands, with its validator. Made once, when the
    class is defined: registering handlers per workflow object would cost every replay the SDK's
    reading of their signatures."""

    async def handle(self: "AppointmentWorkflow", argument: Any) -> Appointment:
        return await self._change(command, argument)

    def validate(self: "AppointmentWorkflow", argument: Any) -> None:
        self._validate(command, argument)

    update = workflow.update(name=command.name)(_typed(handle, command.argument, command.result))
    update.validator(_typed(validate, command.argument, type(None)))  # type: ignore[attr-defined]
    return update


class AppointmentWorkflow(MessagePlanning):
    @workflow.init
    def __init__(self, input: RawValue) -> None:
        self._legacy: LegacyRun | None = None
        if not workflow.patched(BOUNDED_STATE_PATCH):
            self._legacy = LegacyRun(
                workflow.payload_converter().from_payload(input.payload, AppointmentInput)
            )
            for name, (handler, validator) in self._legacy.handlers().items():
                workflow.set_update_handler(name, handler, validator=validator)
            return
        state: AppointmentState = workflow.payload_converter().from_payload(input.payload, AppointmentState)
        self._appointment = state.appointment
        self._policy = state.policy
        self._notifications = state.notifications
        self._handled = set(state.handled)
        self._fanout = WebhookFanout(state.appointment.id, state.deliveries)
        self._projection = Projection(
            lambda: self._appointment, state.projected_version, state.events, self._fanout
        )
        self._outbox = Outbox(
            state.appointment.id,
            state.outbox,
            on_sent=self._sent,
            local_timed=workflow.patched(LOCAL_TIMED_MESSAGES_PATCH),
        )
        self._timer = UpdatableTimer(interrupted=self._time_to_continue)
        self._opened = asyncio.Event()
        self._room_lock = asyncio.Lock()

    @workflow.run
    async def run(self, input: RawValue) -> Appointment:
        if self._legacy is not None:
            return await self._legacy.run()
        if workflow.info().continued_run_id is None:
            # A new appointment. The SDK's workflow meter records nothing while a history is
            # replayed: counted once, unless the first workflow task itself is retried.
            workflow.metric_meter().create_counter(
                APPOINTMENTS_SCHEDULED.name, APPOINTMENTS_SCHEDULED.help
            ).add(1, {"organizer_type": self._appointment.organizer.type.value})
        self._outbox.start()
        self._fanout.start()
        keeping_up = asyncio.create_task(self._projection.keep_up())
        describing = asyncio.create_task(self._keep_described())
        await self._open()
        while True:
            self._queue_due_messages()
            upcoming = self._next_deadline()
            if self._time_to_continue():
                await self._continue_as_new(keeping_up)
            if upcoming is not None:
                if await self._timer.sleep_until(*upcoming):
                    self._expire_if_over()
                continue
            if self._nothing_owed():
                break
            # Closed: what is owed goes out (a cancellation, a follow-up, webhooks), then the end.
            await workflow.wait_condition(lambda: self._nothing_owed() or self._time_to_continue())
        await workflow.wait_condition(workflow.all_handlers_finished)
        keeping_up.cancel()
        describing.cancel()
        return self._appointment

    # -- reads -------------------------------------------------------------------------

    @workflow.query
    def appointment(self) -> Appointment:
        return self._legacy.appointment() if self._legacy is not None else self._appointment

    # -- writes ------------------------------------------------------------------------

    def _context(self) -> Context:
        return Context(now=workflow.now(), policy=self._policy)

    def _validate(self, command: Command, argument: Any) -> None:
        judge(lambda: command.judge(self._appointment, argument, self._context()))

    async def _change(self, command: Command, argument: Any) -> Appointment:
        assert command.rule is not None
        rule = command.rule
        # Validators and handlers of updates accepted in one activation may interleave, so the
        # rule is judged again against the state the handler actually changes.
        changed = judge(lambda: rule(self._appointment, argument, self._context()))
        if changed is self._appointment:
            return changed  # nothing to change (e.g. reassigned to the current organizer)
        self._commit(changed, command.event)
        if command.announce is not None:
            self._queue(notification_plan.notification(command.announce, changed, self._notifications))
        await self._record()
        return changed

    @workflow.update(name=SCHEDULE.name)
    async def _schedule(self) -> Appointment:
        """The first Update of update-with-start: answers once the new appointment is recorded
        (and, with autoActivate, has its room)."""
        await self._opened.wait()
        await self._record()
        return self._appointment

    @workflow.update(name=ACTIVATE.name)
    async def _activate_update(self, command: ActorCommand) -> RoomAccess:
        await self._activate(lambda: lifecycle.check_activate(self._appointment, command.actor))
        await self._record()
        assert self._appointment.room_access is not None
        return self._appointment.room_access

    @_activate_update.validator
    def _validate_activate(self, command: ActorCommand) -> None:
        self._validate(ACTIVATE, command)

    async def _record(self) -> None:
        if not await self._projection.record():
            raise _unavailable(
                "the change is made but not recorded yet: the database did not answer in time; "
                "read the appointment before retrying"
            )

    # -- internals ---------------------------------------------------------------------

    async def _open(self) -> None:
        """A new appointment: its room (autoActivate), its CREATE email; then it is recorded."""
        if self._appointment.version == 1:
            self._announce(EventType.APPOINTMENT_CREATED)
        if self._notifications.auto_activate and self._appointment.status.is_open:
            try:
                await self._activate(
                    lambda: lifecycle.require_open(
                        self._appointment, system_actor(self._appointment.application_id)
                    )
                )
            except ApplicationError as error:
                workflow.logger.warning("autoActivate: %s", error.message)
        self._queue_created()
        self._opened.set()

    async def _activate(self, check: Callable[[], None]) -> None:
        # One room per appointment: a second activation waits for the first and reuses its room.
        async with self._room_lock:
            judge(check)
            if self._appointment.room_access is not None:
                return
            try:
                room = await workflow.execute_activity(
                    PROVISION_ROOM,
                    RoomRequest(
                        appointment_id=self._appointment.id,
                        application_id=self._appointment.application_id,
                        expires=lifecycle.end_of_interaction(self._appointment, self._policy),
                        base_url=self._notifications.room_base_url,
                    ),
                    result_type=RoomAccess,
                    start_to_close_timeout=timedelta(seconds=20),
                    schedule_to_close_timeout=_ROOM_GIVE_UP,
                    retry_policy=_ROOM_RETRY,
                    summary="open the video room",
                )
            except ActivityError as error:
                raise _unavailable("the video room could not be opened; retry the activation") from error
            # The appointment may have been ended or deleted while the room was made.
            judge(check)
            self._commit(
                lifecycle.activate(self._appointment, room, workflow.now()), EventType.APPOINTMENT_ACTIVATED
            )

    def _expire_if_over(self) -> None:
        deadline = lifecycle.end_of_interaction(self._appointment, self._policy)
        if self._appointment.status.is_open and workflow.now() >= deadline:
            self._commit(lifecycle.expire(self._appointment, workflow.now()), EventType.APPOINTMENT_ENDED)

    def _commit(self, appointment: Appointment, event: EventType | None) -> None:
        previous = self._appointment
        self._appointment = appointment
        self._timer.wake()
        if event is not None:
            self._announce(event)
        if (previous.status, previous.start, previous.organizer) != (
            appointment.status,
            appointment.start,
            appointment.organizer,
        ):
            workflow.upsert_search_attributes(
                [pair.key.value_set(pair.value) for pair in search_attributes(appointment).search_attributes]
            )
        if previous.start != appointment.start:
            # Reminder keys of the old schedule can never come back: only those of this one count.
            self._handled = set(
                notification_plan.relevant_keys(frozenset(self._handled), appointment, self._notifications)
            )

    def _announce(self, kind: EventType, detail: str = "") -> None:
        appointment = self._appointment
        self._projection.announce(
            ChangeEvent(
                id=event_id(appointment.id, appointment.version, kind, detail),
                type=kind,
                timestamp=workflow.now(),
                version=appointment.version,
                detail=detail,
            )
        )

    def _sent(self, message: Message) -> None:
        if message.type is NotificationType.REMINDER:
            self._announce(EventType.REMINDER_SENT, detail=message.key)

    def _queue_message(self, message: Message) -> None:
        self._outbox.queue(message)

    def _nothing_owed(self) -> bool:
        return not self._outbox.owed and not self._fanout.owed and not self._projection.owed

    def _shown(self) -> tuple[int, ...]:
        """What the current details depend on, cheap to compare: the next deadline follows from
        the version and the handled keys."""
        return (
            self._appointment.version,
            len(self._handled),
            self._outbox.owed,
            len(self._projection.events) + self._fanout.owed,
        )

    async def _keep_described(self) -> None:
        """The current details an operator reads in Temporal UI (no personal data), kept up to
        date also through what no handler does: a change recorded in the background, a message or
        a delivery done. Setting them is no command: replays are unaffected."""
        while True:
            shown = self._shown()
            upcoming = self._next_deadline()
            workflow.set_current_details(
                operator_view.details(
                    self._appointment,
                    next_deadline=upcoming[0] if upcoming else None,
                    next_reason=upcoming[1] if upcoming else "",
                    messages_owed=shown[2],
                    webhooks_owed=shown[3],
                )
            )
            await workflow.wait_condition(lambda: self._shown() != shown)  # noqa: B023

    def _time_to_continue(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self._policy.history_limit
            or info.get_current_history_size() >= HISTORY_SIZE_LIMIT
        )

    async def _continue_as_new(self, keeping_up: asyncio.Task[None]) -> None:
        """Hand the whole state to a new run: in every state, open or closed, with what is owed."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        # Sends under way are cancelled (within their heartbeat) and stay owed: the next run sends them.
        await self._outbox.stop()
        await self._fanout.stop()
        keeping_up.cancel()
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(self._state())

    def _state(self) -> AppointmentState:
        """The whole state, as the next run starts from it: the workflow's own part and what each
        piece owes."""
        return AppointmentState(
            appointment=self._appointment,
            policy=self._policy,
            notifications=self._notifications,
            projected_version=self._projection.version,
            handled=tuple(
                sorted(
                    notification_plan.relevant_keys(
                        frozenset(self._handled), self._appointment, self._notifications
                    )
                )
            ),
            outbox=self._outbox.messages,
            events=self._projection.events,
            deliveries=self._fanout.deliveries,
        )


# The table's changes become the class's Updates before the class is a workflow definition.
for _command in CHANGES:
    setattr(AppointmentWorkflow, _command.name, _change_update(_command))
AppointmentWorkflow = workflow.defn(name=WORKFLOW_NAME)(AppointmentWorkflow)
