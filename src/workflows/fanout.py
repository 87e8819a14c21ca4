"""Webhook deliveries: one ordered queue per subscription, each sent one at a time.

A slow or dead receiver holds back only its own queue, and only for a day: every delivery expires
a day after its change and each queue is capped (domain.delivery_queue). Deliveries name their
event; its body was recorded in PostgreSQL with the change (`record_change`). A continue-as-new
stops the queues (`stop`): deliveries under way are cancelled, within the activity's heartbeat, and
stay owed; receivers deduplicate on `X-Webhook-Id`.
"""

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain import delivery_queue
    from domain.activity_io import WebhookPost
    from domain.activity_names import POST_WEBHOOK
    from domain.metric_names import WEBHOOK_DELIVERIES
    from domain.workflow_state import QueuedDelivery

# Failed deliveries are retried with exponential backoff until they expire.
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(hours=1))
HEARTBEAT = timedelta(seconds=10)


class WebhookFanout:
    def __init__(self, appointment_id: str, deliveries: tuple[QueuedDelivery, ...]) -> None:
        self._appointment_id = appointment_id
        self._queues: dict[str, list[QueuedDelivery]] = {}
        for delivery in deliveries:
            self._queues.setdefault(delivery.webhook_id, []).append(delivery)
        self._sending: set[str] = set()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stopped = False

    @property
    def deliveries(self) -> tuple[QueuedDelivery, ...]:
        return tuple(delivery for queue in self._queues.values() for delivery in queue)

    @property
    def owed(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def start(self) -> None:
        for webhook_id in self._queues:
            self._start(webhook_id)

    def add(self, deliveries: tuple[QueuedDelivery, ...]) -> None:
        for delivery in deliveries:
            queue = self._queues.setdefault(delivery.webhook_id, [])
            grown, dropped = delivery_queue.enqueue(
                tuple(queue), delivery, sending=delivery.webhook_id in self._sending
            )
            queue[:] = grown
            if dropped is not None:
                _count_dead()
                workflow.logger.warning(
                    "webhook %s: event %s dropped, the queue is full", delivery.webhook_id, dropped.event.id
                )
            self._start(delivery.webhook_id)

    async def stop(self) -> None:
        """Cancel the deliveries under way and wait until Temporal confirms it: they stay owed, and
        what is added from now on waits for the next run."""
        self._stopped = True
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def _start(self, webhook_id: str) -> None:
        if not self._stopped and webhook_id not in self._tasks:
            self._tasks[webhook_id] = asyncio.create_task(self._deliver(webhook_id))

    async def _deliver(self, webhook_id: str) -> None:
        queue = self._queues[webhook_id]
        while not self._stopped:
            await workflow.wait_condition(lambda: bool(queue))
            delivery = queue[0]
            left = delivery_queue.deadline(delivery) - workflow.now()
            if left <= timedelta(0):
                workflow.logger.warning("webhook %s: event %s expired", webhook_id, delivery.event.id)
                _count_dead()
                queue.pop(0)
                continue
            self._sending.add(webhook_id)
            try:
                await workflow.execute_activity(
                    POST_WEBHOOK,
                    WebhookPost(appointment_id=self._appointment_id, delivery=delivery),
                    start_to_close_timeout=timedelta(seconds=30),
                    heartbeat_timeout=HEARTBEAT,
                    schedule_to_close_timeout=left,
                    retry_policy=RETRY,
                    cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                    summary=f"{delivery.event.type.value} to webhook",
                )
            except ActivityError as error:
                if self._stopped:
                    return  # cancelled by `stop`: still owed, first in its queue
                _count_dead()
                workflow.logger.warning(
                    "webhook %s: event %s given up: %s", webhook_id, delivery.event.id, error.cause
                )
            finally:
                self._sending.discard(webhook_id)
            queue.pop(0)


def _count_dead() -> None:
    """A delivery given up. The SDK's workflow meter records nothing while a history is replayed,
    so each is counted once, by the worker that gave it up."""
    workflow.metric_meter().create_counter(WEBHOOK_DELIVERIES.name, WEBHOOK_DELIVERIES.help).add(
        1, {"outcome": "dead"}
    )
