"""The API queues Updates to one appointment below Temporal's in-flight limit."""

from __future__ import annotations

import asyncio

from api.update_gate import UpdateGate


async def test_at_most_the_limit_runs_at_once_per_appointment_and_others_are_not_held() -> None:
    gate = UpdateGate(limit=2)
    running: dict[str, int] = {"a": 0, "b": 0}
    peak: dict[str, int] = {"a": 0, "b": 0}
    release = asyncio.Event()

    async def change(key: str) -> None:
        async with gate.slot(key):
            running[key] += 1
            peak[key] = max(peak[key], running[key])
            await release.wait()
            running[key] -= 1

    tasks = [asyncio.create_task(change("a")) for _ in range(6)] + [asyncio.create_task(change("b"))]
    await asyncio.sleep(0.01)
    assert running == {"a": 2, "b": 1}
    release.set()
    await asyncio.gather(*tasks)
    assert peak == {"a": 2, "b": 1}
    assert len(gate) == 0  # nothing kept for appointments with nothing in flight


async def test_a_waiter_that_gives_up_leaves_no_trace() -> None:
    gate = UpdateGate(limit=1)
    held = asyncio.Event()
    done = asyncio.Event()

    async def holder() -> None:
        async with gate.slot("a"):
            held.set()
            await done.wait()

    task = asyncio.create_task(holder())
    await held.wait()
    try:
        async with asyncio.timeout(0.01), gate.slot("a"):
            raise AssertionError("the slot was taken twice")
    except TimeoutError:
        pass
    done.set()
    await task
    assert len(gate) == 0
