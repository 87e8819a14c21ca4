"""At most a few Updates in flight to one appointment from this API process.

Temporal refuses more than a handful of Updates in flight to one workflow at once (the server's
`history.maxInFlightUpdates`, 10 by default and on Temporal Cloud); past that it answers
RESOURCE_EXHAUSTED, the SDK backs off and retries, and a burst of changes to one appointment turns
into seconds of retries and aborted Updates. Queueing them here instead keeps each request's wait
to the time the changes before it take. Several API replicas can still exceed the server's limit
together; the gateway then answers 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

# Below the server's default of 10, so that the worker's own retries and another replica's burst
# still find room.
IN_FLIGHT_PER_APPOINTMENT = 4


class UpdateGate:
    def __init__(self, limit: int = IN_FLIGHT_PER_APPOINTMENT) -> None:
        self._limit = limit
        # Only appointments with a request in flight or waiting have an entry: the map stays as
        # small as the traffic, whatever the number of appointments.
        self._gates: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        gate, users = self._gates.get(key, (None, 0))
        if gate is None:
            gate = asyncio.Semaphore(self._limit)
        self._gates[key] = (gate, users + 1)
        try:
            async with gate:
                yield
        finally:
            _, users = self._gates[key]
            if users == 1:
                del self._gates[key]
            else:
                self._gates[key] = (gate, users - 1)

    def __len__(self) -> int:
        return len(self._gates)
