"""Recording an appointment's changes: the read model, the bodies of the webhook events they
announce, and which subscriptions want each, in one transaction (the `record_change` activity)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.model import Appointment
from domain.webhooks import ALL_EVENTS
from domain.workflow_state import ChangeEvent
from storage.appointments import write

_SUBSCRIPTIONS = text(
    "SELECT id, events FROM webhooks WHERE application_id = :app AND enabled ORDER BY created_at, id"
)
_RECORD_EVENT = text(
    "INSERT INTO webhook_events (event_id, application_id, appointment_id, body) "
    "VALUES (:event_id, :app, :appointment_id, :body) ON CONFLICT (event_id) DO NOTHING"
)


class ChangeStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(
        self, appointment: Appointment, events: Sequence[tuple[ChangeEvent, str]]
    ) -> list[tuple[str, ChangeEvent]]:
        """Project `appointment` (if newer) and keep the body (JSON) of every event some enabled
        subscription wants; the (webhook id, event) pairs owed, in the order of the events and,
        for each, of the subscriptions."""
        async with self._engine.begin() as conn:
            await write(conn, appointment)
            if not events:
                return []
            subscriptions = (await conn.execute(_SUBSCRIPTIONS, {"app": appointment.application_id})).all()
            owed = [
                (str(subscription.id), event)
                for event, _ in events
                for subscription in subscriptions
                if ALL_EVENTS in subscription.events or event.type.value in subscription.events
            ]
            wanted = {event.id for _, event in owed}
            if wanted:
                await conn.execute(
                    _RECORD_EVENT,
                    [
                        {
                            "event_id": event.id,
                            "app": appointment.application_id,
                            "appointment_id": appointment.id,
                            "body": body,
                        }
                        for event, body in events
                        if event.id in wanted
                    ],
                )
        return owed
