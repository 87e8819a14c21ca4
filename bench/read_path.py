"""The read path: `GET /api/appointments/{id}` of the service against a bare reference app.

`python -m bench.read_path [--duration 20] [--connections 32] [--rounds 4] [--tracing] [--baseline REV]
[--profile]`

Starts the stack as `make run` does (bench/stack.py), schedules a few appointments through the
API, starts `bench/reference_app.py` (Litestar + asyncpg, the same select, no auth) twice against
the same database, once with asyncpg's pool as it comes (`reference`) and once with that pool
resetting nothing, as the service's read connections (`no-reset`), checks what they answer, then
loads each with wrk in turn (reference, no-reset, service, then backward, and so on), after a
warm-up of all. Prints requests/s and latency percentiles of every run, the medians, and the
ratio of the service's throughput to each reference's.

`--tracing` leaves out the no-reset reference (PostgreSQL's connections would not hold every
app's pool) and adds two apps to every round: API processes of the same stack, with the same
environment but for their ports and OTEL_EXPORTER_OTLP_ENDPOINT, exporting a server span per request
over OTLP/HTTP to a real receiver in this process (tests/support/otlp.py): `traced` records every
request, `sampled` one in ten (OTEL_TRACES_SAMPLER=traceidratio, 0.1). It prints their throughput
against the service's (tracing off) and how many spans the receiver decoded.

`--baseline REV` adds the API of another git revision to every round: a replica of the stack's API
(its environment but for its ports) running that revision's code from a worktree in
`.bench/baseline`, against the same database; it prints the service's ratios to it, the change
since REV measured side by side.

`--profile` adds one more service run (not counted) under py-spy (bench/profiling.py, the `bench`
extra; root needed) and prints where the API process spent its samples.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import uvicorn

from bench.profiling import print_profiles, profiled
from bench.report import machine
from bench.stack import BENCH_DATA, PROJECT_ROOT, Stack, running_stack
from devstack.net import free_port
from domain.access import Role
from storage.database import driver_dsn
from tests.support.otlp import OtlpHttpReceiver
from tests.support.requests import schedule_body

APPOINTMENTS = 8
APPLICATION_ID = "bench-read"
AGENT = "agent-1"
WARM_UP_SECONDS = 5
WRK_THREADS = 2
LUA_SCRIPT = Path(__file__).with_name("wrk_rotate.lua")
PROFILES = BENCH_DATA / "profiles" / "read_path"
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


@dataclass(frozen=True)
class WrkRun:
    target: str
    requests_per_second: float
    p50: float  # seconds
    p99: float
    requests: int
    failures: int  # non-2xx/3xx answers and socket errors
    cpu: float  # CPU of the app's process, in cores

    def line(self) -> str:
        return (
            f"{self.target:<9} {self.requests_per_second:8.0f} req/s  p50 {self.p50 * 1000:6.2f} ms  "
            f"p99 {self.p99 * 1000:6.2f} ms  n={self.requests}  failures={self.failures}  "
            f"app cpu {self.cpu:.2f} cores"
        )


def _seconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"wrk printed a duration {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(target: str, output: str, cpu: float) -> WrkRun:
    def find(pattern: str) -> re.Match[str]:
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            raise ValueError(f"no {pattern!r} in the output of wrk:\n{output}")
        return match

    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkRun(
        target=target,
        requests_per_second=float(find(r"^Requests/sec:\s+([\d.]+)").group(1)),
        p50=_seconds(find(r"^\s+50%\s+(\S+)").group(1)),
        p99=_seconds(find(r"^\s+99%\s+(\S+)").group(1)),
        requests=int(find(r"^\s+(\d+) requests in").group(1)),
        failures=(int(non_2xx.group(1)) if non_2xx else 0)
        + (sum(int(n) for n in socket_errors.groups()) if socket_errors else 0),
        cpu=cpu,
    )


@dataclass(frozen=True)
class Target:
    name: str
    base_url: str
    process: psutil.Process
    token: str | None = None


def wrk(target: Target, ids: list[str], *, seconds: int, connections: int, label: str = "") -> WrkRun:
    headers = ["-H", f"Authorization: Bearer {target.token}"] if target.token else []
    command = [
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(LUA_SCRIPT),
        *headers,
        target.base_url,
        "--",
        *ids,
    ]
    before = target.process.cpu_times()
    started = time.monotonic()
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    elapsed = time.monotonic() - started
    after = target.process.cpu_times()
    cpu = (after.user + after.system - before.user - before.system) / elapsed
    return parse_wrk(label or target.name, output, cpu)


def request_json(url: str, *, token: str | None = None, body: object = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers=headers,
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def schedule_appointments(stack: Stack, token: str) -> list[dict[str, object]]:
    return [
        request_json(f"{stack.api_url}/api/appointments/", token=token, body=schedule_body(title=f"Read {n}"))
        for n in range(APPOINTMENTS)
    ]


def check_answers(stack: Stack, reference_url: str, token: str, scheduled: list[dict[str, object]]) -> None:
    """Both apps answer the appointment before they are timed: the service its view, the reference its row."""
    for view in scheduled:
        served = request_json(f"{stack.api_url}/api/appointments/{view['id']}", token=token)
        if served != view:
            raise AssertionError(f"the service answered {served!r}, not the view it scheduled {view!r}")
        stored = request_json(f"{reference_url}/api/appointments/{view['id']}")
        if not isinstance(stored, dict) or stored.get("id") != view["id"]:
            raise AssertionError(f"the reference answered {stored!r} for {view['id']}")


@contextmanager
def serving(
    command: list[str], url: str, probe: str, env: dict[str, str] | None = None
) -> Iterator[psutil.Process]:
    """`command` as a process, once `url + probe` answers; stopped on exit."""
    process = subprocess.Popen(command, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited during startup")
            try:
                request_json(f"{url}{probe}")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield psutil.Process(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def reference_app(stack: Stack, probe_id: str, *options: str) -> Iterator[tuple[str, psutil.Process]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    dsn = driver_dsn(stack.database_url)
    command = [sys.executable, "-m", "bench.reference_app", str(port), dsn, *options]
    with serving(command, url, f"/api/appointments/{probe_id}") as process:
        yield url, process


# The reference apps: their name and their options (bench/reference_app.py).
REFERENCES = {"reference": (), "no-reset": ("--no-reset",)}

# The replicas of `--tracing`: their name and the variables they add to the stack's API's own.
TRACED = {
    "traced": {},
    "sampled": {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"},
}


@contextmanager
def api_replica(stack: Stack, env: dict[str, str]) -> Iterator[tuple[str, psutil.Process]]:
    """Another `python -m api` of the stack, as its own but for its ports and `env`."""
    port = free_port()
    env = {
        **{k: v for k, v in stack.child("api").environ().items() if not k.startswith("OTEL_")},
        "HTTP_PORT": str(port),
        "API_METRICS_PORT": str(free_port()),
        **env,
    }
    url = f"http://127.0.0.1:{port}"
    with serving([sys.executable, "-m", "api"], url, "/health", env) as process:
        yield url, process


@contextmanager
def checkout(revision: str) -> Iterator[Path]:
    """The project at `revision`, checked out beside this one for as long as the block runs."""
    path = BENCH_DATA / "baseline"
    # One left behind by an interrupted run; there is usually none.
    subprocess.run(
        ["git", "worktree", "remove", "--force", str(path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=False,
    )
    subprocess.run(["git", "worktree", "add", "--detach", str(path), revision], cwd=PROJECT_ROOT, check=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=PROJECT_ROOT, check=True)


@contextmanager
def otlp_receiver() -> Iterator[OtlpHttpReceiver]:
    """A real OTLP/HTTP receiver, served from a thread of this process."""
    receiver = OtlpHttpReceiver()
    server = uvicorn.Server(
        uvicorn.Config(receiver, host="127.0.0.1", port=receiver.port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield receiver
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=20, help="seconds of each timed run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=4, help="timed runs of each app")
    parser.add_argument(
        "--tracing", action="store_true", help="also time API replicas exporting traces over OTLP"
    )
    parser.add_argument(
        "--profile", action="store_true", help=f"then one more service run under py-spy, into {PROFILES}"
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also time the API of git revision REV (a replica on the same stack and database)",
    )
    args = parser.parse_args()
    received: OtlpHttpReceiver | None = None

    print(f"read path: {machine()}")
    print(f"wrk -t{WRK_THREADS} -c{args.connections} -d{args.duration}s, {APPOINTMENTS} appointments in turn")
    with running_stack("read_path") as stack:
        token = stack.token(sub=AGENT, roles=[Role.AGENT.value], application_id=APPLICATION_ID)
        scheduled = schedule_appointments(stack, token)
        ids = [str(view["id"]) for view in scheduled]
        with ExitStack() as apps:
            targets = []
            # The traced replicas' pools leave PostgreSQL's connections no room for a second reference.
            references = {"reference": REFERENCES["reference"]} if args.tracing else REFERENCES
            for name, options in references.items():
                url, process = apps.enter_context(reference_app(stack, ids[0], *options))
                check_answers(stack, url, token, scheduled)
                targets.append(Target(name, url, process))
            service = Target("service", stack.api_url, stack.child("api"), token)
            targets.append(service)
            if args.tracing:
                received = apps.enter_context(otlp_receiver())
                for name, sampling in TRACED.items():
                    env = {**sampling, "OTEL_EXPORTER_OTLP_ENDPOINT": received.endpoint}
                    url, process = apps.enter_context(api_replica(stack, env))
                    targets.append(Target(name, url, process, token))
            if args.baseline:
                source = apps.enter_context(checkout(args.baseline))
                url, process = apps.enter_context(api_replica(stack, {"PYTHONPATH": str(source / "src")}))
                targets.append(Target("baseline", url, process, token))
            for target in targets:
                wrk(target, ids, seconds=WARM_UP_SECONDS, connections=args.connections)
            runs: dict[str, list[WrkRun]] = {target.name: [] for target in targets}
            for round_number in range(args.rounds):
                # Forward in one round, backward in the next: no app always follows the same one.
                for target in targets if round_number % 2 == 0 else targets[::-1]:
                    run = wrk(target, ids, seconds=args.duration, connections=args.connections)
                    print(run.line())
                    runs[target.name].append(run)
            if args.profile:
                with profiled({"api": service.process}, PROFILES):
                    run = wrk(
                        service, ids, seconds=args.duration, connections=args.connections, label="profiled"
                    )
                print(run.line(), "(not counted)")

    if args.profile:
        print_profiles(PROFILES)
    report(runs, received)


def report(runs: dict[str, list[WrkRun]], received: OtlpHttpReceiver | None) -> None:
    """The medians of each app's runs, the service's ratios to each reference and tracing's cost."""
    medians = {
        target: (
            statistics.median(r.requests_per_second for r in target_runs),
            statistics.median(r.p50 for r in target_runs),
            statistics.median(r.p99 for r in target_runs),
        )
        for target, target_runs in runs.items()
    }
    print(f"median of {len(runs['service'])} runs each:")
    for target, (rps, p50, p99) in medians.items():
        print(f"  {target:<9} {rps:8.0f} req/s  p50 {p50 * 1000:6.2f} ms  p99 {p99 * 1000:6.2f} ms")
    service_rps, _, service_p99 = medians["service"]
    for name in [name for name in REFERENCES if name in medians]:
        rps, _, p99 = medians[name]
        print(
            f"service/{name}: throughput {service_rps / rps:.2f} (target >= 0.95), "
            f"p99 {service_p99 / p99:.2f}x (target <= 1)"
        )
    if "baseline" in medians:
        rps, _, p99 = medians["baseline"]
        print(f"service/baseline: throughput {service_rps / rps:.2f}, p99 {service_p99 / p99:.2f}x")
    if received is not None:
        for name in TRACED:
            ratio = medians[name][0] / service_rps
            print(f"throughput ratio {name}/service (tracing on/off): {ratio:.2f}")
        print(f"spans the OTLP receiver decoded: {len(received.spans)} in {received.requests} requests")
    failures = sum(run.failures for target_runs in runs.values() for run in target_runs)
    if failures:
        print(f"FAILED: {failures} requests were not answered 2xx")
        sys.exit(1)


if __name__ == "__main__":
    main()
