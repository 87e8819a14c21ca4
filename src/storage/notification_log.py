"""What was delivered to whom: the memory that makes sending idempotent across retries."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import driver_connection

# An error is a diagnosis, not a dump of what the server or the composer said.
MAX_ERROR_LENGTH = 1000


class DeliveryStatus(StrEnum):
    SENT = "SENT"
    # A permanent SMTP refusal (5xx): recorded, never retried.
    REJECTED = "REJECTED"
    # A message that can never be composed or written out (a header it cannot hold): recorded,
    # never retried.
    FAILED = "FAILED"


# Each a single statement on the driver's connection (storage.database.driver_connection): the
# sending activity runs both for every message, a burst of reminders thousands a minute.
_STATUS = "SELECT status FROM notification_log WHERE delivery_key = $1"
_RECORD = (
    "INSERT INTO notification_log (delivery_key, appointment_id, type, recipient, status, error, message_id) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (delivery_key) DO NOTHING"
)
_FOR_APPOINTMENT = text(
    "SELECT delivery_key, type, recipient, status, error FROM notification_log "
    "WHERE appointment_id = :appointment_id ORDER BY recorded_at, delivery_key"
)


class NotificationLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def status(self, delivery_key: str) -> DeliveryStatus | None:
        async with driver_connection(self._engine) as connection:
            found = await connection.fetchval(_STATUS, delivery_key)
        return None if found is None else DeliveryStatus(found)

    async def record(
        self,
        delivery_key: str,
        *,
        appointment_id: str,
        type: str,
        recipient: str,
        status: DeliveryStatus,
        message_id: str,
        error: str | None = None,
    ) -> None:
        async with driver_connection(self._engine) as connection:
            await connection.execute(
                _RECORD,
                delivery_key,
                appointment_id,
                type,
                recipient,
                status.value,
                None if error is None else error[:MAX_ERROR_LENGTH],
                message_id,
            )

    async def for_appointment(self, appointment_id: str) -> list[tuple[str, str, str, str, str | None]]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(_FOR_APPOINTMENT, {"appointment_id": appointment_id})).all()
        return [tuple(row) for row in rows]  # type: ignore[misc]
