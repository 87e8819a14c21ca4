"""storage.read_connections against the real database: bounded, reused, never handing out a
connection in an unknown state, and an outage rather than a hang when none can be had."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from api.errors import database_unavailable
from devstack.net import free_port
from storage.database import driver_dsn
from storage.read_connections import ReadConnections, ReadsUnavailable


@pytest.fixture
def dsn(database_url: str) -> str:
    return driver_dsn(database_url)


def connections(
    dsn: str, *, size: int = 3, wait_timeout: float = 5, command_timeout: float = 10
) -> ReadConnections:
    return ReadConnections(
        dsn, size=size, connect_timeout=5, command_timeout=command_timeout, wait_timeout=wait_timeout
    )


@pytest.fixture
async def reads(dsn: str) -> AsyncIterator[ReadConnections]:
    opened = connections(dsn)
    yield opened
    await opened.close()


async def backend_pids(reads: ReadConnections, readers: int) -> set[int]:
    return set(await asyncio.gather(*(reads.fetchval("SELECT pg_backend_pid()") for _ in range(readers))))


async def test_connections_are_opened_on_first_use_and_reused(reads: ReadConnections) -> None:
    assert reads.open == 0
    first = await reads.fetchval("SELECT pg_backend_pid()")
    assert [await reads.fetchval("SELECT pg_backend_pid()") for _ in range(5)] == [first] * 5
    assert reads.open == 1
    assert await reads.fetchval("SELECT $1::text", "ünïcødé") == "ünïcødé"


async def test_readers_beyond_the_size_wait_their_turn(reads: ReadConnections) -> None:
    peak = 0

    async def read(n: int) -> int:
        nonlocal peak
        value = await reads.fetchval("SELECT $1::int + 0 * length(pg_sleep(0.01)::text)", n)
        peak = max(peak, reads.open)
        return value

    assert await asyncio.gather(*(read(n) for n in range(60))) == list(range(60))
    assert peak == 3 and reads.open == 3
    assert len(await backend_pids(reads, 30)) == 3


async def test_a_reader_that_waits_too_long_is_told_the_database_is_unavailable(dsn: str) -> None:
    reads = connections(dsn, size=1, wait_timeout=0.2)
    try:
        busy = asyncio.create_task(reads.fetchval("SELECT pg_sleep(1)"))
        await asyncio.sleep(0.1)
        with pytest.raises(ReadsUnavailable) as refused:
            await reads.fetchval("SELECT 1")
        assert database_unavailable(refused.value)
        await busy
        # Nothing was lost: the one connection serves the next reader.
        assert await reads.fetchval("SELECT 2") == 2 and reads.open == 1
    finally:
        await reads.close()


async def test_a_reader_cancelled_mid_statement_leaves_no_half_read_connection(
    reads: ReadConnections,
) -> None:
    before = await reads.fetchval("SELECT pg_backend_pid()")
    cancelled = asyncio.create_task(reads.fetchval("SELECT pg_sleep(5)"))
    await asyncio.sleep(0.2)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    # Its connection was closed, not handed to the next reader with a statement still running.
    assert reads.open == 0
    assert await reads.fetchval("SELECT 7") == 7
    assert await reads.fetchval("SELECT pg_backend_pid()") != before


async def test_a_statement_timeout_closes_the_connection(dsn: str) -> None:
    reads = connections(dsn, command_timeout=0.2)
    try:
        with pytest.raises(TimeoutError):
            await reads.fetchval("SELECT pg_sleep(2)")
        assert reads.open == 0
        assert await reads.fetchval("SELECT 8") == 8
    finally:
        await reads.close()


async def test_an_error_from_the_server_keeps_the_connection(reads: ReadConnections) -> None:
    pid = await reads.fetchval("SELECT pg_backend_pid()")
    with pytest.raises(asyncpg.DataError):
        await reads.fetchval("SELECT $1::uuid", "not a uuid")
    with pytest.raises(asyncpg.DivisionByZeroError):
        await reads.fetchval("SELECT 1 / $1::int", 0)
    assert await reads.fetchval("SELECT pg_backend_pid()") == pid and reads.open == 1


async def test_a_connection_the_server_closed_is_replaced(reads: ReadConnections, dsn: str) -> None:
    pid = await reads.fetchval("SELECT pg_backend_pid()")
    admin = await asyncpg.connect(dsn)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    await asyncio.sleep(0.2)  # the connection notices the server's end closing
    assert await reads.fetchval("SELECT pg_backend_pid()") != pid
    assert reads.open == 1


async def test_a_connection_handed_to_a_reader_that_just_gave_up_is_passed_on(dsn: str) -> None:
    reads = connections(dsn, size=1)
    try:
        held = await reads._take()
        waiting = asyncio.create_task(reads.fetchval("SELECT 2"))
        await asyncio.sleep(0.05)
        # Handed over and cancelled in the same step: the reader wakes up cancelled, connection in hand.
        reads._give_back(held)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert await reads.fetchval("SELECT 3") == 3 and reads.open == 1
    finally:
        await reads.close()


async def test_a_reader_cancelled_while_waiting_takes_no_turn(dsn: str) -> None:
    reads = connections(dsn, size=1)
    try:
        busy = asyncio.create_task(reads.fetchval("SELECT pg_sleep(0.3)"))
        await asyncio.sleep(0.1)
        gave_up = asyncio.create_task(reads.fetchval("SELECT 1"))
        patient = asyncio.create_task(reads.fetchval("SELECT 2"))
        await asyncio.sleep(0.05)
        gave_up.cancel()
        await busy
        assert await patient == 2 and gave_up.cancelled() and reads.open == 1
    finally:
        await reads.close()


async def test_an_unreachable_database_is_an_outage_and_takes_no_place() -> None:
    reads = ReadConnections(
        f"postgresql://nobody@127.0.0.1:{free_port()}/none",
        size=2,
        connect_timeout=2,
        command_timeout=2,
        wait_timeout=2,
    )
    results = await asyncio.gather(*(reads.fetchval("SELECT 1") for _ in range(5)), return_exceptions=True)
    assert all(isinstance(error, OSError) and database_unavailable(error) for error in results), results
    assert reads.open == 0
    await reads.close()


async def test_closed_connections_refuse_readers_and_close_busy_ones_when_returned(dsn: str) -> None:
    reads = connections(dsn)
    await backend_pids(reads, 2)
    busy = asyncio.create_task(reads.fetchval("SELECT pg_sleep(0.3)"))
    await asyncio.sleep(0.1)
    await reads.close()
    assert reads.open == 1
    await busy
    assert reads.open == 0
    with pytest.raises(ReadsUnavailable):
        await reads.fetchval("SELECT 1")
