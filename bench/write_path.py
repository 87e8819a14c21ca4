"""Write path: `POST /api/appointments/` against a raw start + update of an empty workflow.

    python -m bench.write_path [--clients 16] [--seconds 20] [--rounds 2]

One stack (`make run`'s, in `.bench/write_path`), one Temporal server. The service's side is what a
client sees: HTTP, JWT, the application's settings read, update-with-start of the appointment's
workflow, its first update and the projection into PostgreSQL before the answer. The reference is
the least any workflow-per-appointment design pays on this server: `start_workflow` then one
update of a workflow that does nothing, from this process, with the SDK's defaults. Rounds
alternate reference and service; throughput is the median of the rounds, latencies are pooled.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import uuid
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

import psutil
from temporalio.client import Client

from bench.empty_workflow import EmptyWorkflow
from bench.load import Run, closed_loop
from bench.profiling import print_profiles, profiled
from bench.report import machine, percentile
from bench.stack import BENCH_DATA, PROJECT_ROOT, Stack, running_stack
from bench.worker_metrics import between, scrape

APPLICATION = "bench-write"
PROFILES = BENCH_DATA / "profiles" / "write_path"
REFERENCE_QUEUE = "bench-empty"


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
) -> tuple[list[Run], list[Run]]:
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

            # Warm-up: connections, caches, the server's first workflow tasks.
            await closed_loop("warm-up", reference, clients=clients, seconds=3)
            await closed_loop("warm-up", service, clients=clients, seconds=3)
            references: list[Run] = []
            services: list[Run] = []
            for _ in range(rounds):
                references.append(
                    await closed_loop(
                        "reference",
                        reference,
                        clients=clients,
                        seconds=seconds,
                        processes=reference_processes,
                    )
                )
                print(references[-1].line(), flush=True)
                metrics_before = scrape(stack.settings.worker_metrics_port)
                with profiled(processes, PROFILES) if profile else nullcontext():
                    services.append(
                        await closed_loop(
                            "service", service, clients=clients, seconds=seconds, processes=processes
                        )
                    )
                print(services[-1].line(), flush=True)
                print("           " + between(metrics_before, scrape(stack.settings.worker_metrics_port)))
            return references, services
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
        references, services = asyncio.run(
            measure(stack, args.clients, args.seconds, args.rounds, args.profile)
        )
    ref_rps, ref_p50, ref_p99 = pooled(references)
    svc_rps, svc_p50, svc_p99 = pooled(services)
    errors = sum(len(r.errors) for r in references + services)
    print()
    for name, (rps, p50, p99) in (
        ("reference  start_workflow + update", (ref_rps, ref_p50, ref_p99)),
        ("service    POST /api/appointments/", (svc_rps, svc_p50, svc_p99)),
    ):
        print(f"{name}:  {rps:7.1f} /s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")
    print(
        f"throughput ratio service/reference: {svc_rps / ref_rps:.2f}   (target >= 0.60)   errors: {errors}"
    )
    for run in references + services:
        for error in sorted(set(run.errors))[:3]:
            print(f"  {run.name} error: {error}")
    if args.profile:
        print_profiles(PROFILES)


if __name__ == "__main__":
    main()
