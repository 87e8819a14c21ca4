"""The messages an appointment owes, sent one at a time, apart from the Update handlers: no API
call waits on SMTP, and messages go out in the order they were queued.

The queue keeps at most one message per thing to tell (domain.notification_plan.enqueue). A
continue-as-new stops the outbox (`stop`): the message being sent is cancelled, within the
activity's heartbeat, and stays owed, so the next run sends it; the sending activity's log makes a
send it already completed a no-op.

A timed message (a reminder, a follow-up) that falls due while no Update is being handled goes out
as a local activity, in the workflow task its timer woke: the server then keeps one workflow task
per reminder rather than two and an activity task, a third less of its CPU in a minute of
reminders (docs/BENCHMARKS.md). Its retries wait on workflow timers (`_LOCAL_RETRY_THRESHOLD`), so that
no retry holds the workflow task, and the Updates behind it, open. A message an Update caused, or
one due while a handler runs, stays an activity: no caller waits on SMTP. Runs from before the
patch `LOCAL_TIMED_MESSAGES_PATCH` send every message as an activity.
"""

import asyncio
import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain import notification_plan
    from domain.activity_io import MessageRequest
    from domain.activity_names import SEND_MESSAGE
    from domain.notifications import DeliveryResult, Message

# SMTP outages are retried with backoff for a day; a permanent refusal is a result, not a failure.
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
GIVE_UP = timedelta(hours=24)
# A worker that dies mid-send is noticed within this, not only after the attempt's minute.
HEARTBEAT = timedelta(seconds=10)
ATTEMPT = timedelta(seconds=60)
LOCAL_TIMED_MESSAGES_PATCH = "local-timed-messages"
# Any backoff longer than this waits on a workflow timer rather than inside the workflow task.
_LOCAL_RETRY_THRESHOLD = timedelta(milliseconds=1)


class Outbox:
    def __init__(
        self,
        appointment_id: str,
        messages: tuple[Message, ...],
        on_sent: Callable[[Message], None],
        *,
        local_timed: bool,
    ) -> None:
        self._appointment_id = appointment_id
        self._local_timed = local_timed
        self._waiting = list(messages)
        self._sending: Message | None = None
        self._on_sent = on_sent
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    @property
    def messages(self) -> tuple[Message, ...]:
        """What is owed, the message being sent first."""
        return (*([self._sending] if self._sending else []), *self._waiting)

    @property
    def owed(self) -> int:
        return len(self.messages)

    def queue(self, message: Message) -> None:
        self._waiting = list(notification_plan.enqueue(tuple(self._waiting), message))

    def start(self) -> None:
        self._task = asyncio.create_task(self._send_all())

    async def stop(self) -> None:
        """Cancel the send under way, if any, and wait until Temporal confirms it: it stays owed."""
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _send_all(self) -> None:
        while not self._stopped:
            await workflow.wait_condition(lambda: bool(self._waiting))
            message = self._sending = self._waiting.pop(0)
            try:
                await self._send(message)
            except (ActivityError, asyncio.CancelledError) as error:
                if self._stopped:
                    self._waiting.insert(0, message)  # cancelled by `stop`: owed, the next run sends it
                    return
                workflow.logger.warning("message %s given up: %s", message.key, error.__cause__ or error)
            else:
                self._on_sent(message)
            finally:
                self._sending = None

    async def _send(self, message: Message) -> DeliveryResult:
        request = MessageRequest(appointment_id=self._appointment_id, message=message)
        options: dict[str, Any] = {
            "result_type": DeliveryResult,
            "start_to_close_timeout": ATTEMPT,
            "schedule_to_close_timeout": GIVE_UP,
            "retry_policy": RETRY,
            "cancellation_type": workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            "summary": f"{message.type.value} message",
        }
        if self._local_timed and message.due is not None and workflow.all_handlers_finished():
            return await workflow.execute_local_activity(
                SEND_MESSAGE, request, local_retry_threshold=_LOCAL_RETRY_THRESHOLD, **options
            )
        return await workflow.execute_activity(SEND_MESSAGE, request, heartbeat_timeout=HEARTBEAT, **options)
