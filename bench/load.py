"""Closed-loop load from this process: N clients, each sending its next request when the last ends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import psutil

from bench.report import percentile


@dataclass
class Run:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    # CPU seconds used during the run, per process of the stack.
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def line(self) -> str:
        cpu = ", ".join(f"{name} {seconds / self.elapsed:.0%}" for name, seconds in self.cpu.items())
        return (
            f"{self.name:<10} {self.throughput:8.1f} req/s  "
            f"p50 {percentile(self.latencies, 0.5) * 1000:7.1f} ms  "
            f"p99 {percentile(self.latencies, 0.99) * 1000:7.1f} ms  n={len(self.latencies)}  "
            f"errors={len(self.errors)}  cpu: {cpu}"
        )


async def closed_loop(
    name: str,
    call: Callable[[], Awaitable[None]],
    *,
    clients: int,
    seconds: float,
    processes: dict[str, psutil.Process] | None = None,
) -> Run:
    """Run `call` from `clients` concurrent loops for `seconds`; latencies of successful calls."""
    run = Run(name)
    processes = processes or {}
    before = cpu_seconds(processes)
    client_before = time.process_time()
    deadline = time.monotonic() + seconds

    async def client() -> None:
        while time.monotonic() < deadline:
            began = time.perf_counter()
            try:
                await call()
            except Exception as error:  # a benchmark reports failures instead of stopping
                run.errors.append(f"{type(error).__name__}: {error}")
                continue
            run.latencies.append(time.perf_counter() - began)

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    run.elapsed = time.monotonic() - started
    after = cpu_seconds(processes)
    run.cpu = {key: after[key] - before[key] for key in processes}
    # This process: the load generator, which shares the machine's cores with the stack.
    run.cpu["client"] = time.process_time() - client_before
    return run


def cpu_seconds(processes: dict[str, psutil.Process]) -> dict[str, float]:
    return {name: _cpu(p) for name, p in processes.items()}


def _cpu(process: psutil.Process) -> float:
    """CPU seconds of a process and its children (the Temporal CLI runs the server in a child)."""
    total = 0.0
    for p in [process, *process.children(recursive=True)]:
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total
