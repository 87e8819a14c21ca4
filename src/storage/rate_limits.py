"""Fixed-window request counters in PostgreSQL, shared by every API replica.

One statement counts a request against all its limits at once and returns each count, so a
request costs one round trip whatever the number of limits. Counters live in an UNLOGGED table
(migration 0007) and are pruned once their window is long over.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.rate_limits import RETENTION, Limit

_HIT = text(
    """
    INSERT INTO rate_limit_hits AS h (bucket, window_start, hits)
    SELECT bucket, window_start, 1
    FROM unnest(CAST(:buckets AS text[]), CAST(:windows AS timestamptz[])) AS t(bucket, window_start)
    ON CONFLICT (bucket, window_start) DO UPDATE SET hits = h.hits + 1
    RETURNING h.bucket, h.hits
    """
)
_PRUNE = text("DELETE FROM rate_limit_hits WHERE window_start < :before")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def window_start(limit: Limit, now: datetime) -> datetime:
    seconds = limit.window.total_seconds()
    elapsed = (now - _EPOCH).total_seconds()
    return _EPOCH + timedelta(seconds=math.floor(elapsed / seconds) * seconds)


class Exceeded(Exception):
    """A request over one of its limits; `retry_after` is when that limit's window ends."""

    def __init__(self, limit: Limit, retry_after: timedelta) -> None:
        super().__init__(f"rate limit {limit.name} ({limit.describe()}) exceeded")
        self.limit = limit
        self.retry_after = retry_after


class RateLimiter:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def hit(self, hits: Sequence[tuple[Limit, str]], now: datetime | None = None) -> None:
        """Count one request against each (limit, subject key); raise Exceeded for the first one over.

        `subject key` is an opaque stand-in for the client, mailbox or application
        (domain.keys.ServiceKeys.pseudonym): the table names nobody.
        """
        if not hits:
            return
        now = now or datetime.now(UTC)
        buckets = {f"{limit.name}:{subject}": limit for limit, subject in hits}
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    _HIT,
                    {
                        "buckets": list(buckets),
                        "windows": [window_start(limit, now) for limit in buckets.values()],
                    },
                )
            ).all()
        counts = {row.bucket: row.hits for row in rows}
        for bucket, limit in buckets.items():
            if counts.get(bucket, 0) > limit.requests:
                raise Exceeded(limit, window_start(limit, now) + limit.window - now)

    async def prune(self, now: datetime | None = None) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(_PRUNE, {"before": (now or datetime.now(UTC)) - RETENTION})
        return result.rowcount
