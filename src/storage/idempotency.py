"""Which request first used an Idempotency-Key: its fingerprint, by the id the key stands for."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# How long a key remembers its request; a key reused later makes the same id again, so it still
# names the same resource, but a different body is no longer told apart.
RETENTION = timedelta(days=30)

_CLAIM = text(
    "INSERT INTO idempotency_keys (resource_id, fingerprint) VALUES (:id, :fingerprint) "
    "ON CONFLICT (resource_id) DO NOTHING RETURNING fingerprint"
)
_FIRST = text("SELECT fingerprint FROM idempotency_keys WHERE resource_id = :id")
_PRUNE = text("DELETE FROM idempotency_keys WHERE created_at < :before")


class IdempotencyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim(self, resource_id: str, fingerprint: str) -> bool:
        """Remember `fingerprint` for `resource_id` unless another request was there first;
        True when this request may go on (first, or the same again)."""
        key = uuid.UUID(resource_id)
        async with self._engine.begin() as conn:
            if (await conn.execute(_CLAIM, {"id": key, "fingerprint": fingerprint})).first() is not None:
                return True
            first = (await conn.execute(_FIRST, {"id": key})).scalar_one_or_none()
        # None: pruned between the two statements; the key is free again.
        return first is None or first == fingerprint

    async def prune(self, now: datetime | None = None) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(_PRUNE, {"before": (now or datetime.now(UTC)) - RETENTION})
        return result.rowcount
