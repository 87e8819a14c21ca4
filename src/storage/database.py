"""Engine construction: one pool per process."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def create_engine(url: str, *, pool_size: int = 20) -> AsyncEngine:
    """An engine of at most `pool_size` connections, each kept open once opened.

    No overflow: connections opened beyond the pool would be closed as soon as the pool has
    enough idle ones, and under a steady load that churns (a new server process per
    connection). No `pool_pre_ping`: with asyncpg it costs three round trips (BEGIN, `;`,
    ROLLBACK) on every checkout; `_drop_closed` catches what it is there for without one.
    """
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        # Fail fast when the database is away, so callers can answer 503 instead of hanging.
        pool_timeout=5,
        connect_args={"timeout": 5, "command_timeout": 10},
    )
    event.listen(engine.sync_engine, "checkout", _drop_closed)
    return engine


def _drop_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Replace a pooled connection the server has closed (restart, terminated backend).

    asyncpg marks a connection closed as soon as the server's end of it closes, so this is a
    local check; the pool opens a fresh connection instead of handing out a dead one. A
    connection that dies silently (a network dropping it) fails its next statement, which
    answers 503 and makes SQLAlchemy replace it.
    """
    if dbapi_connection.driver_connection.is_closed():
        raise exc.DisconnectionError("the server closed this connection")
