"""The appointment workflow as it ran before its state became one bounded object: frozen.

Runs started before the `bounded-state` patch (every history without its marker) are rebuilt by
replaying them, and keep running, with exactly this code: it issues the commands their histories
recorded (activities `project_appointment`, `match_webhooks`, `send_notification`,
`deliver_webhook`, whole appointments in events and deliveries). `AppointmentWorkflow` hands such
runs to `LegacyRun` and registers its handlers; when one continues as new, the new run takes the
current code (workflows.appointment). Delete this module once no such run is left
(docs/workflows.md, "Later: workflow.deprecate_patch").

Do not change what this code does: only what it imports may move, and a fix must be a
`workflow.patched` branch, as `_CONTINUE_WHEN_CLOSED_PATCH` is.
"""

# No `from __future__ import annotations`: the sandbox re-imports this module for every workflow
# it runs, and string annotations would be compiled again each time by the SDK's type-hint lookup.
import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows.planning import MessagePlanning

with workflow.unsafe.imports_passed_through():
    import msgspec

    from domain import lifecycle, notification_plan
    from domain.access import system_actor
    from domain.activity_names import (
        DELIVER_WEBHOOK,
        MATCH_WEBHOOKS,
        PROJECT_APPOINTMENT,
        PROVISION_ROOM,
        SEND_NOTIFICATION,
    )
    from domain.lifecycle import (
        ActorCommand,
        AddCustomer,
        AgentCommand,
        RemoveParticipant,
        Reschedule,
        UpdateDetails,
    )
    from domain.model import Appointment, RoomAccess, RoomRequest
    from domain.notifications import DeliveryResult, Message, Notification, NotificationType
    from domain.webhooks import AppointmentEvent, EventType, MatchRequest, WebhookDelivery, event_id
    from domain.workflow_input import AppointmentInput
    from workflows.refusals import judge
    from workflows.search import search_attributes

# The read model must catch up however long the database is away: retry without limit,
# backing off to one attempt a minute.
_PROJECTION_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(minutes=1)
)
_ROOM_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=30)
)
_DATABASE_CALL_TIMEOUT = timedelta(seconds=15)
# SMTP outages are retried with backoff for a day; a permanent refusal is a result, not a failure.
_MAIL_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
_MAIL_GIVE_UP = timedelta(hours=24)
# Mail and webhook activities heartbeat: a worker that dies mid-send is noticed within this, not
# only after start_to_close, which would hold up (over a minute, for reminders) what queues behind.
_HEARTBEAT = timedelta(seconds=10)
# Webhooks: failed deliveries are retried with exponential backoff for up to a day.
_WEBHOOK_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(hours=1))
_WEBHOOK_GIVE_UP = timedelta(hours=24)
# Workflows started before webhooks existed replay without them.
_WEBHOOKS_PATCH = "webhooks"
# The projection and the matching of webhooks are short database calls: run as local activities
# they complete within the workflow task that asked for them, instead of costing the server an
# activity task and a second workflow task each (docs/BENCHMARKS.md). Workflows started before
# replay with the activities their histories recorded.
_LOCAL_DATABASE_CALLS_PATCH = "local-database-calls"
# A closed run told to continue as new with a follow-up still due used to loop within one workflow
# task until the deadlock detector failed it; it now continues as new, into the current code.
_CONTINUE_WHEN_CLOSED_PATCH = "legacy-continue-when-closed"


class LegacyRun(MessagePlanning):
    def __init__(self, input: AppointmentInput) -> None:
        self._appointment = input.appointment
        self._policy = input.policy
        self._notifications = input.notifications
        self._projected_version = input.projected_version
        # Keys of messages already queued (or deliberately skipped): each is sent at most once.
        self._handled = set(input.handled)
        self._outbox = list(input.outbox)
        self._sending = False
        # Webhooks: events not yet matched to subscriptions, then one ordered queue per subscription.
        self._webhooks = workflow.patched(_WEBHOOKS_PATCH)
        self._local_database_calls = workflow.patched(_LOCAL_DATABASE_CALLS_PATCH)
        self._events = list(input.events)
        self._queues: dict[str, list[WebhookDelivery]] = {}
        for delivery in input.deliveries:
            self._queues.setdefault(delivery.webhook_id, []).append(delivery)
        self._webhook_tasks: dict[str, asyncio.Task[None]] = {}
        self._webhook_calls = 0
        self._opened = asyncio.Event()
        self._projection_lock = asyncio.Lock()
        self._room_lock = asyncio.Lock()
        self._changed = False

    def handlers(self) -> dict[str, tuple[Callable[..., Any], Callable[..., None] | None]]:
        """The Updates of a legacy run, by name: handler and validator."""
        return {
            "schedule": (self.schedule, None),
            "update_details": (self.update_details, self._validate_update_details),
            "reschedule": (self.reschedule, self._validate_reschedule),
            "add_agent": (self.add_agent, self._validate_add_agent),
            "add_customer": (self.add_customer, self._validate_add_customer),
            "remove_participant": (self.remove_participant, self._validate_remove_participant),
            "reassign": (self.reassign, self._validate_reassign),
            "activate": (self.activate, self._validate_activate),
            "end": (self.end, self._validate_end),
            "delete": (self.delete, self._validate_delete),
        }

    async def run(self) -> Appointment:
        background = [asyncio.create_task(self._deliver())]
        if self._webhooks:
            background.append(asyncio.create_task(self._dispatch_events()))
            for webhook_id in self._queues:
                self._start_webhook_queue(webhook_id)
        await self._open()
        while True:
            self._queue_due_messages()
            upcoming = self._next_deadline()
            if upcoming is None:
                break
            deadline = upcoming[0]
            self._changed = False
            try:
                await workflow.wait_condition(
                    lambda: self._changed or workflow.info().is_continue_as_new_suggested(),
                    timeout=max(deadline - workflow.now(), timedelta(0)),
                    timeout_summary="next reminder or end of interaction",
                )
            except TimeoutError:
                await self._expire_if_over()
            if workflow.info().is_continue_as_new_suggested():
                await self._continue_as_new()
        # Owed messages (the cancellation, the follow-up) go out before the workflow closes.
        await workflow.wait_condition(
            lambda: not self._outbox and not self._webhooks_pending() and workflow.all_handlers_finished()
        )
        for task in [*background, *self._webhook_tasks.values()]:
            task.cancel()
        return self._appointment

    # -- reads -------------------------------------------------------------------------

    def appointment(self) -> Appointment:
        return self._appointment

    # -- writes ------------------------------------------------------------------------

    async def schedule(self) -> Appointment:
        """The first update of update-with-start: answers once the new appointment is visible
        (and, with autoActivate, has its room)."""
        # Projecting here, not only in `run`, keeps the order of commands that histories recorded
        # before notifications existed replay against.
        await self._project()
        if self._notifications.auto_activate:
            await self._opened.wait()
        return self._appointment

    async def update_details(self, command: UpdateDetails) -> Appointment:
        return await self._change(
            lambda: lifecycle.update_details(self._appointment, command, workflow.now()),
            EventType.APPOINTMENT_UPDATED,
        )

    def _validate_update_details(self, command: UpdateDetails) -> None:
        judge(lambda: lifecycle.update_details(self._appointment, command, workflow.now()))

    async def reschedule(self, command: Reschedule) -> Appointment:
        return await self._change(
            lambda: lifecycle.reschedule(self._appointment, command, self._policy, workflow.now()),
            EventType.APPOINTMENT_RESCHEDULED,
            NotificationType.RESCHEDULE,
        )

    def _validate_reschedule(self, command: Reschedule) -> None:
        judge(lambda: lifecycle.reschedule(self._appointment, command, self._policy, workflow.now()))

    async def add_agent(self, command: AgentCommand) -> Appointment:
        return await self._change(
            lambda: lifecycle.add_agent(self._appointment, command, workflow.now()),
            EventType.PARTICIPANT_ADDED,
        )

    def _validate_add_agent(self, command: AgentCommand) -> None:
        judge(lambda: lifecycle.add_agent(self._appointment, command, workflow.now()))

    async def add_customer(self, command: AddCustomer) -> Appointment:
        return await self._change(
            lambda: lifecycle.add_customer(self._appointment, command, workflow.now()),
            EventType.PARTICIPANT_ADDED,
        )

    def _validate_add_customer(self, command: AddCustomer) -> None:
        judge(lambda: lifecycle.add_customer(self._appointment, command, workflow.now()))

    async def remove_participant(self, command: RemoveParticipant) -> Appointment:
        return await self._change(
            lambda: lifecycle.remove_participant(self._appointment, command, workflow.now()),
            EventType.PARTICIPANT_REMOVED,
        )

    def _validate_remove_participant(self, command: RemoveParticipant) -> None:
        judge(lambda: lifecycle.remove_participant(self._appointment, command, workflow.now()))

    async def reassign(self, command: AgentCommand) -> Appointment:
        return await self._change(
            lambda: lifecycle.reassign(self._appointment, command, workflow.now()),
            EventType.APPOINTMENT_REASSIGNED,
        )

    def _validate_reassign(self, command: AgentCommand) -> None:
        judge(lambda: lifecycle.reassign(self._appointment, command, workflow.now()))

    async def activate(self, command: ActorCommand) -> RoomAccess:
        await self._activate(lambda: lifecycle.check_activate(self._appointment, command.actor))
        await self._project()
        assert self._appointment.room_access is not None
        return self._appointment.room_access

    def _validate_activate(self, command: ActorCommand) -> None:
        judge(lambda: lifecycle.check_activate(self._appointment, command.actor))

    async def end(self, command: ActorCommand) -> Appointment:
        return await self._change(
            lambda: lifecycle.end(self._appointment, command.actor, workflow.now()),
            EventType.APPOINTMENT_ENDED,
        )

    def _validate_end(self, command: ActorCommand) -> None:
        judge(lambda: lifecycle.end(self._appointment, command.actor, workflow.now()))

    async def delete(self, command: ActorCommand) -> Appointment:
        return await self._change(
            lambda: lifecycle.delete(self._appointment, command.actor, workflow.now()),
            EventType.APPOINTMENT_CANCELLED,
            NotificationType.CANCELLED,
        )

    def _validate_delete(self, command: ActorCommand) -> None:
        judge(lambda: lifecycle.delete(self._appointment, command.actor, workflow.now()))

    # -- internals ---------------------------------------------------------------------

    async def _change(
        self,
        rule: Callable[[], Appointment],
        event: EventType,
        announce: NotificationType | None = None,
    ) -> Appointment:
        # Validators and handlers of updates accepted in one activation may interleave, so
        # the rule is judged again against the state the handler actually changes.
        changed = judge(rule)
        if changed is self._appointment:
            return changed  # nothing to change (e.g. reassigned to the current organizer)
        self._commit(changed, event)
        if announce is not None:
            self._queue(notification_plan.notification(announce, changed, self._notifications))
        await self._project()
        return changed

    async def _open(self) -> None:
        """A new appointment: its room (autoActivate), its projection, its CREATE email."""
        if self._appointment.version == 1:
            self._emit(EventType.APPOINTMENT_CREATED, self._appointment)
        if self._notifications.auto_activate and self._appointment.status.is_open:
            await self._activate(
                lambda: lifecycle.require_open(
                    self._appointment, system_actor(self._appointment.application_id)
                )
            )
        await self._project()
        self._queue_created()
        self._opened.set()

    async def _activate(self, check: Callable[[], None]) -> None:
        # One room per appointment: a second activation waits for the first and reuses its room.
        async with self._room_lock:
            judge(check)
            if self._appointment.room_access is not None:
                return
            room = await workflow.execute_activity(
                PROVISION_ROOM,
                RoomRequest(
                    appointment_id=self._appointment.id,
                    application_id=self._appointment.application_id,
                    expires=lifecycle.end_of_interaction(self._appointment, self._policy),
                    base_url=self._notifications.room_base_url,
                ),
                result_type=RoomAccess,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=_ROOM_RETRY,
            )
            # The appointment may have been ended or deleted while the room was made.
            judge(check)
            self._commit(
                lifecycle.activate(self._appointment, room, workflow.now()), EventType.APPOINTMENT_ACTIVATED
            )

    async def _expire_if_over(self) -> None:
        deadline = lifecycle.end_of_interaction(self._appointment, self._policy)
        if self._appointment.status.is_open and workflow.now() >= deadline:
            self._commit(lifecycle.expire(self._appointment, workflow.now()), EventType.APPOINTMENT_ENDED)
            await self._project()

    def _queue_message(self, message: Message) -> None:
        # Legacy runs send the appointment with the message (`send_notification`).
        self._outbox.append(Notification(**msgspec.structs.asdict(message), appointment=self._appointment))

    async def _deliver(self) -> None:
        """Sends queued messages one by one, apart from the handlers: no API call waits on SMTP."""
        while True:
            await workflow.wait_condition(lambda: bool(self._outbox))
            message = self._outbox[0]
            self._sending = True
            try:
                await workflow.execute_activity(
                    SEND_NOTIFICATION,
                    message,
                    result_type=DeliveryResult,
                    start_to_close_timeout=timedelta(seconds=60),
                    heartbeat_timeout=_HEARTBEAT,
                    schedule_to_close_timeout=_MAIL_GIVE_UP,
                    retry_policy=_MAIL_RETRY,
                )
            except ActivityError as error:
                workflow.logger.warning("message %s given up: %s", message.key, error.cause or error)
            else:
                if message.type is NotificationType.REMINDER:
                    self._emit(EventType.REMINDER_SENT, self._appointment, detail=message.key)
            finally:
                self._sending = False
            self._outbox.pop(0)

    async def _continue_as_new(self) -> None:
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and not self._sending and not self._webhook_calls
        )
        if not self._appointment.status.is_open and not workflow.patched(_CONTINUE_WHEN_CLOSED_PATCH):
            return
        workflow.continue_as_new(
            AppointmentInput(
                appointment=self._appointment,
                policy=self._policy,
                notifications=self._notifications,
                projected_version=self._projected_version,
                handled=tuple(sorted(self._handled)),
                outbox=tuple(self._outbox),
                events=tuple(self._events),
                deliveries=tuple(d for queue in self._queues.values() for d in queue),
            )
        )

    def _commit(self, appointment: Appointment, event: EventType) -> None:
        previous = self._appointment
        self._appointment = appointment
        self._changed = True
        self._emit(event, appointment)
        if (previous.status, previous.start, previous.organizer) != (
            appointment.status,
            appointment.start,
            appointment.organizer,
        ):
            workflow.upsert_search_attributes(
                [pair.key.value_set(pair.value) for pair in search_attributes(appointment).search_attributes]
            )

    def _emit(self, kind: EventType, appointment: Appointment, detail: str = "") -> None:
        if not self._webhooks:
            return
        self._events.append(
            AppointmentEvent(
                id=event_id(appointment.id, appointment.version, kind, detail),
                type=kind,
                timestamp=workflow.now(),
                appointment=appointment,
            )
        )

    def _webhooks_pending(self) -> bool:
        return bool(self._events) or self._webhook_calls > 0 or any(self._queues.values())

    async def _dispatch_events(self) -> None:
        """Fans each event out to the subscriptions that want it, in the order of the changes."""
        while True:
            await workflow.wait_condition(lambda: bool(self._events))
            event = self._events[0]
            self._webhook_calls += 1
            try:
                webhook_ids = await self._database_call(
                    MATCH_WEBHOOKS,
                    MatchRequest(application_id=self._appointment.application_id, type=event.type),
                    result_type=list[str],
                )
            finally:
                self._webhook_calls -= 1
            for webhook_id in webhook_ids:
                self._queues.setdefault(webhook_id, []).append(
                    WebhookDelivery(webhook_id=webhook_id, event=event)
                )
                self._start_webhook_queue(webhook_id)
            self._events.pop(0)

    def _start_webhook_queue(self, webhook_id: str) -> None:
        if webhook_id not in self._webhook_tasks:
            self._webhook_tasks[webhook_id] = asyncio.create_task(self._deliver_webhooks(webhook_id))

    async def _deliver_webhooks(self, webhook_id: str) -> None:
        """One subscription's deliveries, one at a time and in order: a slow or dead receiver
        holds back only its own queue, never another subscription's."""
        queue = self._queues[webhook_id]
        while True:
            await workflow.wait_condition(lambda: bool(queue))
            self._webhook_calls += 1
            try:
                await workflow.execute_activity(
                    DELIVER_WEBHOOK,
                    queue[0],
                    start_to_close_timeout=timedelta(seconds=30),
                    heartbeat_timeout=_HEARTBEAT,
                    schedule_to_close_timeout=_WEBHOOK_GIVE_UP,
                    retry_policy=_WEBHOOK_RETRY,
                )
            except ActivityError as error:
                workflow.logger.warning(
                    "webhook %s: event %s given up: %s", webhook_id, queue[0].event.id, error.cause
                )
            finally:
                self._webhook_calls -= 1
            queue.pop(0)

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
            await self._database_call(PROJECT_APPOINTMENT, snapshot)
            self._projected_version = snapshot.version

    async def _database_call(self, activity: str, arg: object, *, result_type: Any = None) -> Any:
        """A short read-model call, retried until the database answers."""
        execute = workflow.execute_local_activity if self._local_database_calls else workflow.execute_activity
        return await execute(
            activity,
            arg,
            result_type=result_type,
            start_to_close_timeout=_DATABASE_CALL_TIMEOUT,
            retry_policy=_PROJECTION_RETRY,
        )
