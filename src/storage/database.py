"""Engine construction: one pool per process."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        # Fail fast when the database is away, so callers can answer 503 instead of hanging.
        pool_timeout=5,
        connect_args={"timeout": 5, "command_timeout": 10},
    )
