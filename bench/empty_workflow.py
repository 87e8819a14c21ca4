"""The write path's references: workflows that do nothing but what an appointment's creation
costs the server, and a worker process for them.

`python -m bench.empty_workflow ADDRESS TASK_QUEUE` polls TASK_QUEUE until SIGTERM, with the
SDK's defaults and no payload codec.

- `BenchEmpty` stays open, as an appointment's workflow does, and answers one update at once:
  what a start plus an update costs on this Temporal server.
- `BenchIngredients` adds, one by one as its `Recipe` says, what an appointment's first workflow
  task records (bench.write_costs): a patch marker (and the server's upsert of
  `TemporalChangeVersion` that comes with it), a local activity's marker, a timer.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker


@workflow.defn(name="BenchEmpty")
class EmptyWorkflow:
    @workflow.run
    async def run(self) -> None:
        # Open until the benchmark's server is thrown away, like an appointment before its end.
        await workflow.wait_condition(lambda: False)

    @workflow.update
    async def touch(self) -> str:
        return workflow.info().workflow_id


@dataclass(frozen=True)
class Recipe:
    patch: bool = False
    local_activity: bool = False
    timer: bool = False
    # Bytes of input, as an appointment's encrypted state (about 1.5 KB).
    padding: str = ""


@activity.defn(name="bench_nothing")
async def nothing() -> None:
    return None


@workflow.defn(name="BenchIngredients")
class IngredientsWorkflow:
    def __init__(self) -> None:
        self._ready = False

    @workflow.run
    async def run(self, recipe: Recipe) -> None:
        if recipe.patch:
            workflow.patched("bench-ingredient")
        if recipe.local_activity:
            await workflow.execute_local_activity(nothing, start_to_close_timeout=timedelta(seconds=10))
        self._ready = True
        if recipe.timer:
            await workflow.sleep(timedelta(days=3))
        await workflow.wait_condition(lambda: False)

    @workflow.update
    async def touch(self) -> str:
        await workflow.wait_condition(lambda: self._ready)
        return workflow.info().workflow_id


async def serve(address: str, task_queue: str) -> None:
    client = await Client.connect(address)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[EmptyWorkflow, IngredientsWorkflow],
        activities=[nothing],
    ):
        print("ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], sys.argv[2]))
