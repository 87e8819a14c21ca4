"""Storage of customer one-time passwords: issue, then consume at most once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import otp

# Codes are kept a day past their expiry (what was asked when), then go.
RETENTION = timedelta(days=1)

_RETIRE = text(
    "UPDATE customer_otps SET used_at = :now "
    "WHERE application_id = :app AND email = :email AND used_at IS NULL"
)
_INSERT = text(
    "INSERT INTO customer_otps (application_id, email, code_hash, expires_at, created_at) "
    "VALUES (:app, :email, :hash, :expires, :now)"
)
_LATEST = text(
    "SELECT id, code_hash, attempts, expires_at, used_at FROM customer_otps "
    "WHERE application_id = :app AND email = :email ORDER BY created_at DESC, id DESC LIMIT 1 FOR UPDATE"
)
_USE = text("UPDATE customer_otps SET used_at = :now WHERE id = :id")
_PRUNE = text("DELETE FROM customer_otps WHERE expires_at < :before")
_FAIL = text("UPDATE customer_otps SET attempts = attempts + 1 WHERE id = :id")


class OtpStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def issue(self, application_id: str, email: str, code_hash: str, now: datetime) -> None:
        """Store a new code, retiring earlier ones (how many may be issued: domain.rate_limits)."""
        params = {"app": application_id, "email": email, "now": now}
        async with self._engine.begin() as conn:
            await conn.execute(_RETIRE, params)
            await conn.execute(_INSERT, {**params, "hash": code_hash, "expires": now + otp.TTL})

    async def consume(
        self, application_id: str, email: str, matches: Callable[[str], bool], now: datetime
    ) -> bool:
        """True once for the right, fresh code; every wrong try counts towards the lock."""
        async with self._engine.begin() as conn:
            row = (await conn.execute(_LATEST, {"app": application_id, "email": email})).first()
            if row is None or row.used_at is not None or row.expires_at <= now:
                return False
            if row.attempts >= otp.MAX_ATTEMPTS:
                return False
            if matches(row.code_hash):
                await conn.execute(_USE, {"id": row.id, "now": now})
                return True
            await conn.execute(_FAIL, {"id": row.id})
            return False

    async def prune(self, now: datetime | None = None) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(_PRUNE, {"before": (now or datetime.now(UTC)) - RETENTION})
        return result.rowcount
