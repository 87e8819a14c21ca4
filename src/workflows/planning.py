"""The part of the appointment workflow that follows its message plan (domain.notification_plan),
shared by the current workflow and the legacy runs: the plan is pure, and what a run does with it
(queue, skip, wake up) is the same in both."""

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain import lifecycle, notification_plan
    from domain.model import Appointment, WorkflowPolicy
    from domain.notifications import Message, NotificationPolicy


class MessagePlanning:
    _appointment: Appointment
    _policy: WorkflowPolicy
    _notifications: NotificationPolicy
    # Keys of messages already queued (or deliberately skipped): each is sent at most once.
    _handled: set[str]

    def _queue_message(self, message: Message) -> None:
        raise NotImplementedError

    def _queue(self, message: Message | None) -> None:
        if message is None or message.key in self._handled:
            return
        self._handled.add(message.key)
        self._queue_message(message)

    def _queue_created(self) -> None:
        self._queue(notification_plan.created(self._appointment, self._notifications))

    def _next_deadline(self) -> tuple[datetime, str] | None:
        """When the workflow must next wake up by itself, and why; None when nothing is planned."""
        return notification_plan.next_wake(
            self._appointment,
            self._notifications,
            self._handled,
            lifecycle.next_deadline(self._appointment, self._policy),
        )

    def _queue_due_messages(self) -> None:
        send, skipped = notification_plan.due(
            self._appointment, self._notifications, self._handled, workflow.now()
        )
        for planned in skipped:
            workflow.logger.info("reminder %s skipped: due %s has passed", planned.key, planned.due)
            self._handled.add(planned.key)
        for message in send:
            self._queue(message)
