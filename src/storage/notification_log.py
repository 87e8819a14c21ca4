"""What was delivered to whom: the memory that makes sending idempotent across retries."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# An error is a diagnosis, not a dump of what the server or the composer said.
MAX_ERROR_LENGTH = 1000


class DeliveryStatus(StrEnum):
    SENT = "SENT"
    # A permanent SMTP refusal (5xx): recorded, never retried.
    REJECTED = "REJECTED"
    # A message that can never be composed or written out (a header it cannot hold): recorded,
    # never retried.
    FAILED = "FAILED"


_STATUS = text("SELECT status FROM notification_log WHERE delivery_key = :key")
_RECORD = text(
    "INSERT INTO notification_log (delivery_key, appointment_id, type, recipient, status, error, message_id) "
    "VALUES (:key, :appointment_id, :type, :recipient, :status, :error, :message_id) "
    "ON CONFLICT (delivery_key) DO NOTHING"
)
_FOR_APPOINTMENT = text(
    "SELECT delivery_key, type, recipient, status, error FROM notification_log "
    "WHERE appointment_id = :appointment_id ORDER BY recorded_at, delivery_key"
)


class NotificationLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def status(self, delivery_key: str) -> DeliveryStatus | None:
        async with self._engine.connect() as conn:
            found = (await conn.execute(_STATUS, {"key": delivery_key})).scalar_one_or_none()
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
        async with self._engine.begin() as conn:
            await conn.execute(
                _RECORD,
                {
                    "key": delivery_key,
                    "appointment_id": appointment_id,
                    "type": type,
                    "recipient": recipient,
                    "status": status.value,
                    "error": None if error is None else error[:MAX_ERROR_LENGTH],
                    "message_id": message_id,
                },
            )

    async def for_appointment(self, appointment_id: str) -> list[tuple[str, str, str, str, str | None]]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(_FOR_APPOINTMENT, {"appointment_id": appointment_id})).all()
        return [tuple(row) for row in rows]  # type: ignore[misc]
