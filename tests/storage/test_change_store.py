"""storage.changes against the real database: what one `record_change` writes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.access import Role
from domain.webhooks import EventType
from domain.workflow_state import ChangeEvent
from storage.changes import ChangeStore
from storage.webhooks import WebhookStore
from tests.support.factories import new_appointment, principal

SECRET = "0123456789abcdef-secret"


def _event(kind: EventType) -> ChangeEvent:
    return ChangeEvent(id=f"{uuid.uuid4()}:{kind.value}", type=kind, timestamp=datetime.now(UTC))


async def test_only_the_events_a_subscription_wants_get_a_body(engine: AsyncEngine) -> None:
    appointment = new_appointment(principal(Role.AGENT, application_id=f"changes-{uuid.uuid4()}"))
    webhook = await WebhookStore(engine).create(
        appointment.application_id, "http://127.0.0.1:9/a", (EventType.REMINDER_SENT.value,), SECRET, {}
    )
    changes = ChangeStore(engine)
    made: list[str] = []

    def body_of(event: ChangeEvent) -> str:
        made.append(event.id)
        return f'{{"id": "{event.id}"}}'

    created = _event(EventType.APPOINTMENT_CREATED)
    assert await changes.record(appointment, [created], body_of) == []
    assert made == []  # nobody wants it: no body is even made

    # A reminder sent changes nothing: the row is not written again, the event is kept.
    reminder = _event(EventType.REMINDER_SENT)
    assert await changes.record(appointment, [reminder], body_of, project=False) == [(webhook.id, reminder)]
    assert made == [reminder.id]
    async with engine.connect() as conn:
        version = (
            await conn.execute(
                text("SELECT version FROM appointments WHERE id = :id"), {"id": uuid.UUID(appointment.id)}
            )
        ).scalar_one()
        kept = (
            (
                await conn.execute(
                    text("SELECT event_id FROM webhook_events WHERE appointment_id = :id"),
                    {"id": appointment.id},
                )
            )
            .scalars()
            .all()
        )
    assert version == appointment.version and kept == [reminder.id]

    # Nothing to project and nothing announced: no call at all.
    assert await changes.record(appointment, [], body_of, project=False) == []
