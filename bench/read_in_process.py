"""The read path's CPU per request, without HTTP: the service's app and the reference apps, called.

`python -m bench.read_in_process [--requests 5000] [--rounds 5] [--concurrency 1]`

What `bench.read_path` cannot tell apart: whether a difference is the application's own work or
the server, the load generator and the machine around it. Here each app (the service's, built by
`api.app.create_app` with its lifespan, and `bench/reference_app.py` with asyncpg's resetting
pool and with that pool resetting nothing) runs in this process on uvloop, as under uvicorn, and
is called through ASGI with `GET /api/appointments/{id}` one request after the other (or
`--concurrency` callers at once, as wrk's connections), against the stack's database, the apps in
turn in every round so that a machine slowing down or speeding up weighs on each alike. Prints
CPU and wall time per request of each round and the median CPU of each app;
`py-spy record -r 1000 -- python -m bench.read_in_process` shows where the CPU goes.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

import uvloop
from litestar import Litestar

from api.app import create_app
from bench import reference_app
from bench.read_path import AGENT, APPLICATION_ID, schedule_appointments
from bench.report import machine
from bench.stack import running_stack
from config import Settings
from config.secrets import development_secrets
from domain.access import Role
from storage.database import driver_dsn

Call = Callable[[], Awaitable[int]]


def caller(app: Litestar, appointment_id: str, token: str | None) -> Call:
    """One GET through the app's ASGI interface; returns the status."""
    path = f"/api/appointments/{appointment_id}"
    headers = [(b"host", b"bench")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def call() -> int:
        statuses: list[int] = []

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(int(message["status"]))  # type: ignore[call-overload]

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": list(headers),
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
            "state": {},
        }
        await app(scope, receive, send)  # type: ignore[arg-type]
        return statuses[0]

    return call


async def measure(apps: dict[str, Call], requests: int, rounds: int, concurrency: int) -> None:
    """Each app's CPU and wall time per request, round after round, the apps in turn in each."""
    per_caller = requests // concurrency
    done = per_caller * concurrency

    async def calls(call: Call, count: int) -> None:
        async def caller_loop() -> None:
            for _ in range(count):
                await call()

        await asyncio.gather(*(caller_loop() for _ in range(concurrency)))

    for name, call in apps.items():
        status = await call()
        if status != 200:
            raise RuntimeError(f"{name} answered {status}")
        await calls(call, per_caller // 2)  # warm-up: connections, caches, statement preparation
    cpu_times: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(rounds):
        for name, call in apps.items():
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            await calls(call, per_caller)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            cpu_times[name].append(cpu / done * 1e6)
            print(f"{name:<10} {cpu / done * 1e6:7.1f} µs CPU  {wall / done * 1e6:7.1f} µs wall per request")
    print(f"median of {rounds} rounds each:")
    for name, times in cpu_times.items():
        print(f"  {name:<10} {statistics.median(times):7.1f} µs CPU per request")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=5000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=1, help="callers at once")
    args = parser.parse_args()
    print(f"read path in process: {machine()}")
    with running_stack("read_in_process") as stack:
        token = stack.token(sub=AGENT, roles=[Role.AGENT.value], application_id=APPLICATION_ID)
        appointment_id = str(schedule_appointments(stack, token)[0]["id"])
        env = {
            **os.environ,
            "DATABASE_URL": stack.database_url,
            "TEMPORAL_ADDRESS": stack.temporal_address,
            # The same secrets as the stack's API, so that the stack's tokens work here too.
            **development_secrets(stack.data_dir),
            "LOG_LEVEL": "WARNING",
        }
        service = create_app(Settings.from_env(env))
        dsn = driver_dsn(stack.database_url)
        apps = (
            ("reference", reference_app.create_app(dsn, reset=True), None),
            ("no-reset", reference_app.create_app(dsn, reset=False), None),
            ("service", service, token),
        )

        async def each() -> None:
            async with AsyncExitStack() as running:
                for _, app, _ in apps:
                    await running.enter_async_context(app.lifespan())
                calls = {name: caller(app, appointment_id, credentials) for name, app, credentials in apps}
                await measure(calls, args.requests, args.rounds, args.concurrency)

        uvloop.run(each())


if __name__ == "__main__":
    main()
