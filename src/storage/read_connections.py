"""A few bare driver connections for the API's single-statement reads.

asyncpg's own pool wraps every acquire and release in bookkeeping: a holder per connection, a
task to shield each release from cancellation, an inactivity timer re-armed on every return. On
the API's hottest read, `GET /api/appointments/{id}`, that was a fifth of its CPU
(docs/BENCHMARKS.md). These connections only ever run one statement outside a transaction and
never change their session, so none of it is needed: a connection whose statement completed (or
was refused by the server, which leaves it ready for the next) goes straight to the next reader;
one interrupted in any other way (a timeout, a lost socket, a cancelled request) might still be
in the middle of an exchange with the server, so it is closed and a fresh one opened when needed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

import asyncpg


class ReadsUnavailable(Exception):
    """No connection could be had: none came free in time, or the connections are closed."""


class ReadConnections:
    """At most `size` connections, opened on first use (so the API starts while the database is
    away) and kept open; readers beyond them wait their turn, first come first served, for at
    most `wait_timeout` seconds."""

    def __init__(
        self, dsn: str, *, size: int, connect_timeout: float, command_timeout: float, wait_timeout: float
    ) -> None:
        self._dsn = dsn
        self._size = size
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._wait_timeout = wait_timeout
        # The most recently used last: the busiest connections stay warm, the rest stay idle.
        self._idle: list[asyncpg.Connection] = []
        # Readers waiting for a connection; handed `None`, a reader may open a connection of its own.
        self._waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self._open = 0
        self._closed = False

    async def fetchval(self, query: str, *args: object) -> Any:
        """The first column of the first row of `query`, on one of the connections."""
        connection = await self._take()
        try:
            value = await connection.fetchval(query, *args)
        except asyncpg.PostgresError:
            # The server answered with an error and is ready for the next statement.
            self._give_back(connection)
            raise
        except BaseException:
            self._discard(connection)
            raise
        self._give_back(connection)
        return value

    async def close(self) -> None:
        """Close the idle connections now and each busy one as its reader gives it back."""
        self._closed = True
        idle, self._idle = self._idle, []
        self._open -= len(idle)
        while self._wake_one_waiter(None):
            pass
        await asyncio.gather(
            *(connection.close(timeout=self._connect_timeout) for connection in idle), return_exceptions=True
        )

    @property
    def open(self) -> int:
        """Connections open now, idle or in use."""
        return self._open

    async def _take(self) -> asyncpg.Connection:
        while True:
            if self._closed:
                raise ReadsUnavailable("the database's read connections are closed")
            if self._idle:
                connection: asyncpg.Connection | None = self._idle.pop()
            elif self._open < self._size:
                connection = await self._connect()
            else:
                # None: a place came free, to open a connection of its own on the next turn.
                connection = await self._wait()
            if connection is not None and not connection.is_closed():
                return connection
            if connection is not None:
                # The server closed it while it sat idle (a restart, a terminated backend).
                self._open -= 1

    async def _connect(self) -> asyncpg.Connection:
        self._open += 1
        try:
            return await asyncpg.connect(
                self._dsn, timeout=self._connect_timeout, command_timeout=self._command_timeout
            )
        except BaseException:
            self._open -= 1
            self._wake_one_waiter(None)
            raise

    async def _wait(self) -> asyncpg.Connection | None:
        waiter: asyncio.Future[asyncpg.Connection | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self._wait_timeout):
                return await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                # Handed over just as this reader gave up (a timeout, a cancelled request): pass
                # it on rather than lose it.
                handed = waiter.result()
                if handed is None:
                    self._wake_one_waiter(None)
                else:
                    self._give_back(handed)
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            if isinstance(exc, TimeoutError):
                raise ReadsUnavailable(
                    f"no database connection came free within {self._wait_timeout:g} s"
                ) from None
            raise

    def _give_back(self, connection: asyncpg.Connection) -> None:
        if self._closed:
            self._discard(connection)
        elif not self._wake_one_waiter(connection):
            self._idle.append(connection)

    def _discard(self, connection: asyncpg.Connection) -> None:
        connection.terminate()
        self._open -= 1
        # Its place is free: a waiting reader may open a connection of its own.
        self._wake_one_waiter(None)

    def _wake_one_waiter(self, connection: asyncpg.Connection | None) -> bool:
        """Hand `connection` (or, when None, a free place) to the first reader still waiting."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return True
        return False
