"""Recording an appointment's changes: the read model, the bodies of the webhook events they
announce, and which subscriptions want each (the `record_change` activity).

The projection and the reading of the subscriptions are one statement, on the busiest write
path; the bodies, when some subscription wants one, a second. Each is idempotent on its own (the
row only moves forward, a body is kept once), so a retry after a failure between them records
what is missing and nothing twice, without a transaction around both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.model import Appointment
from domain.webhooks import ALL_EVENTS
from domain.workflow_state import ChangeEvent
from storage.appointments import PROJECTION, projection_arguments
from storage.database import driver_connection

# The application's enabled subscriptions, in the order they were made; `{}` is the parameter
# that holds the application's id.
_SUBSCRIBED = (
    "SELECT id::text AS id, events FROM webhooks WHERE application_id = ${} AND enabled "
    "ORDER BY created_at, id"
)
_SUBSCRIPTIONS = _SUBSCRIBED.format(1)
# The projection's data-modifying parts run to completion whatever the final SELECT reads.
_PROJECT_AND_SUBSCRIPTIONS = PROJECTION + _SUBSCRIBED.format(2)
_RECORD_EVENT = (
    "INSERT INTO webhook_events (event_id, application_id, appointment_id, body) "
    "VALUES ($1, $2, $3::uuid, $4) ON CONFLICT (event_id) DO NOTHING"
)


class ChangeStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(
        self,
        appointment: Appointment,
        events: Sequence[ChangeEvent],
        body_of: Callable[[ChangeEvent], str],
        *,
        project: bool = True,
    ) -> list[tuple[str, ChangeEvent]]:
        """Project `appointment` (if newer, and asked to) and keep the body (JSON, `body_of`) of
        every event some enabled subscription wants; the (webhook id, event) pairs owed, in the
        order of the events and, for each, of the subscriptions."""
        if not project and not events:
            return []
        async with driver_connection(self._engine) as connection:
            subscriptions = await self._subscriptions(connection, appointment, project=project)
            owed = [
                (subscription["id"], event)
                for event in events
                for subscription in subscriptions
                if ALL_EVENTS in subscription["events"] or event.type.value in subscription["events"]
            ]
            wanted = {event.id for _, event in owed}
            if wanted:
                await connection.executemany(
                    _RECORD_EVENT,
                    [
                        (event.id, appointment.application_id, appointment.id, body_of(event))
                        for event in events
                        if event.id in wanted
                    ],
                )
        return owed

    @staticmethod
    async def _subscriptions(
        connection: asyncpg.Connection, appointment: Appointment, *, project: bool
    ) -> list[asyncpg.Record]:
        if not project:
            return await connection.fetch(_SUBSCRIPTIONS, appointment.application_id)
        return await connection.fetch(_PROJECT_AND_SUBSCRIPTIONS, *projection_arguments(appointment))
