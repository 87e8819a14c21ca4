"""Recording an appointment's changes: the read model, the bodies of the webhook events they
announce, and which subscriptions want each, in one transaction (the `record_change` activity)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

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
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

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
        # An event alone (a reminder sent) writes at most its bodies, each on its own: no
        # transaction to open and commit, one round trip less on the busiest path.
        connection = self._engine.begin() if project else self._autocommit.connect()
        async with connection as conn:
            if project:
                await write(conn, appointment)
            if not events:
                return []
            subscriptions = (await conn.execute(_SUBSCRIPTIONS, {"app": appointment.application_id})).all()
            owed = [
                (str(subscription.id), event)
                for event in events
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
                            "body": body_of(event),
                        }
                        for event in events
                        if event.id in wanted
                    ],
                )
        return owed
