"""The write path's reference: an empty workflow with one update, and a worker process for it.

`python -m bench.empty_workflow ADDRESS TASK_QUEUE` polls TASK_QUEUE until SIGTERM. The workflow
does nothing but stay open, as an appointment's does, and answer its update at once: what a start
plus an update costs on this Temporal server, with the SDK's defaults and no payload codec.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from temporalio import workflow
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


async def serve(address: str, task_queue: str) -> None:
    client = await Client.connect(address)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Worker(client, task_queue=task_queue, workflows=[EmptyWorkflow]):
        print("ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], sys.argv[2]))
