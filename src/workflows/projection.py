"""Recording the appointment's changes: into the read model, and as the bodies of the webhook
events they announce, in one local activity (`record_change`), which also matches the events to
the application's subscriptions.

Handlers record within a budget the API can wait for (`HANDLER_BUDGET`, below its 10 s), so that
the caller reads its own write; when the database does not answer in time, the change stays owed
and `keep_up` records it later, retrying with a growing pause, for as long as it takes: the
read model catches up however long the database is away, and no wait holds a handler.

Announced events wait here until recorded, at most `MAX_PENDING` of them: they refer to the
appointment by version, and are recorded with the appointment as it is when they are.
"""

import asyncio
from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows.fanout import WebhookFanout

with workflow.unsafe.imports_passed_through():
    from domain.activity_io import ChangeRecord, RecordedChange
    from domain.activity_names import RECORD_CHANGE
    from domain.model import Appointment
    from domain.workflow_state import ChangeEvent

HANDLER_BUDGET = timedelta(seconds=8)
BACKGROUND_BUDGET = timedelta(minutes=1)
_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=5))
# Pauses between background attempts while the database is away.
_FIRST_PAUSE = timedelta(seconds=1)
_LONGEST_PAUSE = timedelta(minutes=1)
MAX_PENDING = 100


class Projection:
    def __init__(
        self,
        current: Callable[[], Appointment],
        projected_version: int,
        events: tuple[ChangeEvent, ...],
        fanout: WebhookFanout,
    ) -> None:
        self._current = current
        self.version = projected_version
        self._events = list(events)
        self._fanout = fanout
        self._lock = asyncio.Lock()

    @property
    def events(self) -> tuple[ChangeEvent, ...]:
        return tuple(self._events)

    @property
    def owed(self) -> bool:
        return self.version < self._current().version or bool(self._events)

    def announce(self, event: ChangeEvent) -> None:
        self._events.append(event)
        if len(self._events) > MAX_PENDING:
            dropped = self._events.pop(0)
            workflow.logger.warning(
                "event %s dropped: %s changes wait for the database", dropped.id, MAX_PENDING
            )

    async def record(self, budget: timedelta = HANDLER_BUDGET) -> bool:
        """Record what is owed, once; False when the database did not answer within `budget`."""
        async with self._lock:
            if not self.owed:
                return True
            appointment, events = self._current(), tuple(self._events)
            try:
                recorded = await workflow.execute_local_activity(
                    RECORD_CHANGE,
                    ChangeRecord(
                        appointment=appointment,
                        events=events,
                        project=self.version < appointment.version,
                    ),
                    result_type=RecordedChange,
                    schedule_to_close_timeout=budget,
                    retry_policy=_RETRY,
                )
            except ActivityError as error:
                workflow.logger.warning(
                    "version %s not recorded yet: %s", appointment.version, error.cause or error
                )
                return False
            self.version = max(self.version, appointment.version)
            recorded_ids = {event.id for event in events}
            self._events = [event for event in self._events if event.id not in recorded_ids]
            self._fanout.add(recorded.deliveries)
            return True

    async def keep_up(self) -> None:
        """Record, in the background, whatever a handler could not."""
        pause = _FIRST_PAUSE
        while True:
            await workflow.wait_condition(lambda: self.owed)
            if await self.record(BACKGROUND_BUDGET):
                pause = _FIRST_PAUSE
                continue
            await workflow.sleep(pause, summary="waiting for the database")
            pause = min(pause * 2, _LONGEST_PAUSE)
