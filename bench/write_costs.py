"""What each ingredient of an appointment's creation costs the Temporal server.

    python -m bench.write_costs [--clients 16] [--seconds 15] [--passes 2]

One stack (`make run`'s, in `.bench/write_costs`: its Temporal server has the service's search
attributes) and a reference worker (`bench.empty_workflow`). Each variant creates workflows from
16 closed-loop clients for a few seconds; its figure is the Temporal server's CPU per creation
(CPU seconds of the server's process over the round, divided by the creations), beside the
reference worker's. Variants run forward then backward in each pass, so that the server's growing
database weighs on all of them alike. The variants add, one at a time, what the service's
`POST /api/appointments/` makes the server do: update-with-start in place of a start and an
update, the four search attributes and the summary of the start, an input the size of an
appointment's state, a patch marker, a local activity's marker, a timer.

Before the rounds it times, in this process, what the API and the worker spend on one payload of
an appointment's state: the service's data converter (msgspec) with and without its AES-GCM codec,
encode and decode.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import psutil
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy

from bench.empty_workflow import EmptyWorkflow, IngredientsWorkflow, Recipe
from bench.load import Run, closed_loop
from bench.report import machine
from bench.stack import PROJECT_ROOT, running_stack
from domain.access import Role
from domain.model import WorkflowPolicy
from domain.workflow_state import AppointmentState
from temporal_access.codec import EncryptionCodec
from tests.support.factories import new_appointment, principal
from workflows.converter import data_converter
from workflows.search import APPLICATION_ID, APPOINTMENT_START, APPOINTMENT_STATUS, ORGANIZER_ID

QUEUE = "bench-costs"
# About an appointment's state as the API starts its workflow, encrypted and encoded.
STATE_BYTES = 1_500


# As the service's start sets them (workflows.search).
ATTRIBUTES = TypedSearchAttributes(
    [
        SearchAttributePair(APPLICATION_ID, "bench-costs"),
        SearchAttributePair(ORGANIZER_ID, "agent-1"),
        SearchAttributePair(APPOINTMENT_STATUS, "SCHEDULED"),
        SearchAttributePair(APPOINTMENT_START, datetime(2027, 1, 4, 9, tzinfo=UTC)),
    ]
)


def variants(client: Client) -> dict[str, Callable[[], Awaitable[None]]]:
    def with_start(recipe: Recipe, *, searchable: bool) -> Callable[[], Awaitable[None]]:
        async def create() -> None:
            start = WithStartWorkflowOperation(
                IngredientsWorkflow.run,
                recipe,
                id=f"bench-costs-{uuid.uuid4()}",
                task_queue=QUEUE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                search_attributes=ATTRIBUTES if searchable else None,
                static_summary="Appointment 0000 at 2027-01-04 09:00 UTC" if searchable else None,
            )
            await client.execute_update_with_start_workflow(
                IngredientsWorkflow.touch, start_workflow_operation=start
            )

        return create

    async def start_then_update() -> None:
        handle = await client.start_workflow(
            EmptyWorkflow.run, id=f"bench-empty-{uuid.uuid4()}", task_queue=QUEUE
        )
        await handle.execute_update(EmptyWorkflow.touch)

    padding = "x" * STATE_BYTES
    return {
        "start + update (the reference)": start_then_update,
        "update-with-start": with_start(Recipe(), searchable=False),
        "+ search attributes, summary": with_start(Recipe(), searchable=True),
        "+ 1.5 KB input": with_start(Recipe(padding=padding), searchable=True),
        "+ patch marker": with_start(Recipe(padding=padding, patch=True), searchable=True),
        "+ local activity": with_start(
            Recipe(padding=padding, patch=True, local_activity=True), searchable=True
        ),
        "+ timer (an appointment)": with_start(
            Recipe(padding=padding, patch=True, local_activity=True, timer=True), searchable=True
        ),
        "appointment without patch marker": with_start(
            Recipe(padding=padding, local_activity=True, timer=True), searchable=True
        ),
    }


async def measure(address: str, temporal: psutil.Process, clients: int, seconds: float, passes: int) -> None:
    worker = subprocess.Popen(  # noqa: ASYNC220 (once, before any load)
        [sys.executable, "-m", "bench.empty_workflow", address, QUEUE],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
    )
    try:
        assert worker.stdout is not None
        await asyncio.to_thread(worker.stdout.readline)
        processes = {"temporal": temporal, "worker": psutil.Process(worker.pid)}
        client = await Client.connect(address)
        calls = variants(client)
        runs: dict[str, list[Run]] = {name: [] for name in calls}
        for name, call in calls.items():  # warm-up: connections, the server's caches
            await closed_loop(name, call, clients=clients, seconds=1)
        order = list(calls)
        for _ in range(passes):
            for name in order + order[::-1]:
                run = await closed_loop(
                    name, calls[name], clients=clients, seconds=seconds, processes=processes
                )
                runs[name].append(run)
                print(
                    f"  {name:<34} {_per_create(run, 'temporal'):5.1f} ms  {run.throughput:6.1f} /s",
                    flush=True,
                )
        print()
        print(
            f"{'variant':<34} {'temporal CPU':>13} {'worker CPU':>11} {'created':>9}  (per creation; median)"
        )
        for name, done in runs.items():
            print(
                f"{name:<34} {statistics.median(_per_create(r, 'temporal') for r in done):10.2f} ms"
                f" {statistics.median(_per_create(r, 'worker') for r in done):8.2f} ms"
                f" {statistics.median(r.throughput for r in done):7.1f}/s"
                f"  errors {sum(len(r.errors) for r in done)}"
            )
    finally:
        worker.terminate()
        worker.wait()


async def payload_costs(iterations: int = 5_000) -> None:
    """The CPU of one payload of an appointment's state through the service's data converter."""
    state = AppointmentState(appointment=new_appointment(principal(Role.AGENT)), policy=WorkflowPolicy())
    codec = EncryptionCodec({"bench": bytes(32)}, "bench")
    converters = {
        "msgspec": data_converter,
        "msgspec + AES-GCM": dataclasses.replace(data_converter, payload_codec=codec),
    }
    for name, converter in converters.items():
        encoded = await converter.encode([state])
        encode = await _cpu_per_call(lambda c=converter: c.encode([state]), iterations)
        decode = await _cpu_per_call(
            lambda c=converter, e=encoded: c.decode(e, [AppointmentState]), iterations
        )
        print(
            f"  one state payload, {name:<18} {encoded[0].ByteSize():5} bytes  "
            f"encode {encode:5.1f} µs  decode {decode:5.1f} µs"
        )


async def _cpu_per_call(call: Callable[[], Awaitable[object]], iterations: int) -> float:
    started = time.process_time()
    for _ in range(iterations):
        await call()
    return (time.process_time() - started) / iterations * 1e6


def _per_create(run: Run, process: str) -> float:
    return run.cpu[process] / len(run.latencies) * 1000 if run.latencies else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--passes", type=int, default=1)
    args = parser.parse_args()
    print(f"write costs, {args.clients} concurrent clients, {args.seconds:.0f} s per variant and turn")
    print(machine())
    asyncio.run(payload_costs())
    with running_stack("write_costs") as stack:
        asyncio.run(
            measure(
                stack.temporal_address, stack.processes()["temporal"], args.clients, args.seconds, args.passes
            )
        )


if __name__ == "__main__":
    main()
