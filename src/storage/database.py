"""Engine construction: one pool per process, and the API's bare connections for reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import Select, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util.concurrency import greenlet_spawn

from storage.read_connections import ReadConnections

# As for the engine: fail fast when the database is away, so callers can answer 503.
_CONNECT_TIMEOUT = 5
_COMMAND_TIMEOUT = 10


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
        pool_timeout=_CONNECT_TIMEOUT,
        connect_args={"timeout": _CONNECT_TIMEOUT, "command_timeout": _COMMAND_TIMEOUT},
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


@asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """One of the engine's pooled connections, as asyncpg's own connection.

    For a statement whose SQLAlchemy wrapping costs more than the statement: a SQLAlchemy
    Connection would wrap it in BEGIN and ROLLBACK (three round trips where the driver's is one),
    and turn every row of a large result into a Row of its own.
    """
    connection = await engine.raw_connection()
    try:
        yield connection.driver_connection
    finally:
        # Returning the connection runs SQLAlchemy's sync code, which may await the driver.
        await greenlet_spawn(connection.close)


async def fetch_records(engine: AsyncEngine, statement: Select[Any]) -> list[asyncpg.Record]:
    """`statement`'s rows as asyncpg returns them, on one of the engine's connections."""
    compiled = statement.compile(dialect=engine.dialect)
    arguments = [compiled.params[name] for name in compiled.positiontup or ()]
    async with driver_connection(engine) as connection:
        return await connection.fetch(str(compiled), *arguments)


def create_read_connections(url: str, *, size: int = 20) -> ReadConnections:
    """Bare driver connections for single-statement reads (`AppointmentStore.get` in the API).

    A connection of the engine's pool costs a greenlet switch to check it out and another to
    return it; asyncpg's own pool resets each connection it takes back (a round trip) and keeps
    books on every acquire and release (storage.read_connections). They are opened on first use,
    so the API starts while the database is away; one the server has closed is replaced when it
    is next taken; a reader waits for a free one as long as for one of the engine's.
    """
    return ReadConnections(
        driver_dsn(url),
        size=size,
        connect_timeout=_CONNECT_TIMEOUT,
        command_timeout=_COMMAND_TIMEOUT,
        wait_timeout=_CONNECT_TIMEOUT,
    )


def driver_dsn(url: str) -> str:
    """The engine's URL (`postgresql+asyncpg://...`) as asyncpg itself takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
