"""The read path's CPU per request, without HTTP: the service's app and the reference apps, called.

`python -m bench.read_in_process [--requests 5000] [--rounds 3] [--concurrency 1]`

What `bench.read_path` cannot tell apart: whether a difference is the application's own work or
the server, the load generator and the machine around it. Here each app (the service's, built by
`api.app.create_app` with its lifespan, and `bench/reference_app.py` with asyncpg's resetting
pool and with that pool resetting nothing) runs in this process on
uvloop, as under uvicorn, and is called through ASGI with `GET /api/appointments/{id}` one request
after the other (or `--concurrency` callers at once, as wrk's connections), against the stack's
database. Prints CPU and wall time per request of each;
`py-spy record -r 1000 -- python -m bench.read_in_process` shows where the CPU goes.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import time
from collections.abc import Awaitable, Callable

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


async def measure(name: str, app: Litestar, call: Call, requests: int, rounds: int, concurrency: int) -> None:
    async def caller_loop(calls: int) -> None:
        for _ in range(calls):
            await call()

    async def calls(total: int) -> None:
        await asyncio.gather(*(caller_loop(total // concurrency) for _ in range(concurrency)))

    async with app.lifespan():
        status = await call()
        if status != 200:
            raise RuntimeError(f"{name} answered {status}")
        await calls(requests // 2)  # warm-up: connections, caches, statement preparation
        gc.collect()
        for _ in range(rounds):
            wall, cpu = time.perf_counter(), time.process_time()
            await calls(requests)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            done = requests // concurrency * concurrency
            print(f"{name:<10} {cpu / done * 1e6:7.1f} µs CPU  {wall / done * 1e6:7.1f} µs wall per request")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=5000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=3)
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
            for name, app, credentials in apps:
                call = caller(app, appointment_id, credentials)
                await measure(name, app, call, args.requests, args.rounds, args.concurrency)

        uvloop.run(each())


if __name__ == "__main__":
    main()
