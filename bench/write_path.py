"""Write path: `POST /api/appointments/` against a raw start + update of an empty workflow.

    python -m bench.write_path [--clients 16] [--seconds 20] [--rounds 2]

One stack (`make run`'s, in `.bench/write_path`), one Temporal server. The service's side is what a
client sees: HTTP, JWT, the application's settings read, update-with-start of the appointment's
workflow, its first update and the projection into PostgreSQL before the answer. The reference is
the least any workflow-per-appointment design pays on this server: `start_workflow` then one
update of a workflow that does nothing, from this process, with the SDK's defaults; and, like for
like, the same workflow started by update-with-start, as the service starts an appointment's.
Each round runs the three sides, forward in one round and backward in the next; throughput is the
median of the rounds, latencies are pooled.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

import psutil
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from bench.empty_workflow import EmptyWorkflow
from bench.load import Run, closed_loop
from bench.profiling import print_profiles, profiled
from bench.report import machine, percentile
from bench.stack import BENCH_DATA, PROJECT_ROOT, Stack, running_stack
from bench.worker_metrics import between, scrape

APPLICATION = "bench-write"
PROFILES = BENCH_DATA / "profiles" / "write_path"
REFERENCE_QUEUE = "bench-empty"
REFERENCE = "reference"
WITH_START = "with-start"
SERVICE = "service"


def schedule_body(start: datetime) -> dict[str, object]:
    return {
        "customer": {
            "contact": {"primaryEmail": "customer@example.net", "primaryPhone": "2102234988"},
            "name": {"firstName": "Bobby", "lastName": "Ewing"},
            "username": "ewingb@example.net",
        },
        "duration": "PT30M",
        "locale": "en-GB",
        "notes": "CRM ref: 3nv-1gt-4rt",
        "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "timezone": "Europe/Berlin",
        "title": "Product installation review",
    }


async def measure(
    stack: Stack, clients: int, seconds: float, rounds: int, profile: bool
) -> dict[str, list[Run]]:
    token = stack.token(sub="agent-1", roles=["ROLE_AGENT"], application_id=APPLICATION)
    body = schedule_body(datetime.now(UTC).replace(microsecond=0) + timedelta(days=3))
    temporal = await Client.connect(stack.temporal_address)
    processes = stack.processes()
    reference_worker = subprocess.Popen(  # noqa: ASYNC220 (once, before any load)
        [sys.executable, "-m", "bench.empty_workflow", stack.temporal_address, REFERENCE_QUEUE],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=(stack.data_dir / "reference-worker.log").open("wb"),
    )
    try:
        assert reference_worker.stdout is not None
        await asyncio.to_thread(reference_worker.stdout.readline)
        reference_processes = {
            "temporal": processes["temporal"],
            "worker": psutil.Process(reference_worker.pid),
        }

        async with stack.client(token, clients) as http:

            async def service() -> None:
                response = await http.post("/api/appointments/", json=body)
                if response.status_code != 200:
                    raise RuntimeError(f"{response.status_code} {response.text[:200]}")

            async def reference() -> None:
                handle = await temporal.start_workflow(
                    EmptyWorkflow.run, id=f"bench-empty-{uuid.uuid4()}", task_queue=REFERENCE_QUEUE
                )
                await handle.execute_update(EmptyWorkflow.touch)

            async def with_start() -> None:
                start = WithStartWorkflowOperation(
                    EmptyWorkflow.run,
                    id=f"bench-empty-{uuid.uuid4()}",
                    task_queue=REFERENCE_QUEUE,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                )
                await temporal.execute_update_with_start_workflow(
                    EmptyWorkflow.touch, start_workflow_operation=start
                )

            sides: dict[str, tuple[Callable[[], Awaitable[None]], dict[str, psutil.Process]]] = {
                REFERENCE: (reference, reference_processes),
                WITH_START: (with_start, reference_processes),
                SERVICE: (service, processes),
            }
            # Warm-up: connections, caches, the server's first workflow tasks.
            for call, _ in sides.values():
                await closed_loop("warm-up", call, clients=clients, seconds=3)
            runs: dict[str, list[Run]] = {name: [] for name in sides}
            # Forward then backward in each round: the server's database grows with every
            # workflow created and slows it down a little, which then weighs on every side alike.
            order = list(sides)
            for turn in range(rounds):
                for name in order if turn % 2 == 0 else order[::-1]:
                    call, watched = sides[name]
                    metrics_before = scrape(stack.settings.worker_metrics_port)
                    service_round = name == SERVICE
                    with profiled(processes, PROFILES) if profile and service_round else nullcontext():
                        run = await closed_loop(
                            name, call, clients=clients, seconds=seconds, processes=watched
                        )
                    runs[name].append(run)
                    print(run.line(), flush=True)
                    if service_round:
                        after = scrape(stack.settings.worker_metrics_port)
                        print("           " + between(metrics_before, after))
            return runs
    finally:
        reference_worker.terminate()
        reference_worker.wait()


def pooled(runs: list[Run]) -> tuple[float, float, float]:
    latencies = [x for run in runs for x in run.latencies]
    return (
        statistics.median(run.throughput for run in runs),
        percentile(latencies, 0.5) * 1000,
        percentile(latencies, 0.99) * 1000,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--profile",
        action="store_true",
        help=f"py-spy the stack's processes in the service rounds ({PROFILES})",
    )
    args = parser.parse_args()
    print(f"write path, {args.clients} concurrent clients, {args.rounds} x {args.seconds:.0f} s per side")
    print(machine())
    with running_stack("write_path") as stack:
        runs = asyncio.run(measure(stack, args.clients, args.seconds, args.rounds, args.profile))
    figures = {name: pooled(done) for name, done in runs.items()}
    print()
    for name, label in (
        (REFERENCE, "reference  start_workflow + update"),
        (WITH_START, "reference  update-with-start      "),
        (SERVICE, "service    POST /api/appointments/"),
    ):
        rps, p50, p99 = figures[name]
        print(f"{label}:  {rps:7.1f} /s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")
    service = figures[SERVICE]
    for name in (REFERENCE, WITH_START):
        print(
            f"service/{name}: throughput {service[0] / figures[name][0]:.2f} (target >= 0.80), "
            f"p99 {service[2] / figures[name][2]:.2f} x (target <= 1.5)"
        )
    errors = [error for done in runs.values() for run in done for error in run.errors]
    print(f"errors: {len(errors)}")
    for error in sorted(set(errors))[:5]:
        print(f"  {error}")
    if args.profile:
        print_profiles(PROFILES)


if __name__ == "__main__":
    main()
