"""The service's own commands (`appointments api`, `appointments worker`) as child processes of a
test, each with its output in a file, started, killed and started again as a supervisor would."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from devstack.net import free_port
from tests.support.stack import BIN

# What a worker logs once it polls its task queue (worker_host.main).
WORKER_READY = b"worker polling task queue"


class ServiceProcess:
    """One `appointments <command>` process; `env` is its whole environment."""

    def __init__(self, name: str, command: str, env: Mapping[str, str], log_file: Path) -> None:
        self.name = name
        self.command = command
        self.env = {**env, "PYTHONUNBUFFERED": "1"}
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None
        self.generation = 0  # how many times it was started; each start's output follows a marker
        self._offset = 0

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        self.launch()
        await self.wait_until_ready()

    def launch(self) -> None:
        """Start it without waiting: several processes start faster side by side."""
        self.generation += 1
        self._offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        with self.log_file.open("ab") as out:
            out.write(f"--- {self.name} #{self.generation}\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                [str(BIN / "appointments"), self.command],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def wait_until_ready(self, timeout: float = 60) -> None:  # noqa: ASYNC109 - a polling deadline
        """Until a worker polls its task queue, or an API answers `GET /health` with 200."""
        deadline = time.monotonic() + timeout
        while not await self._ready():
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} not ready after {timeout} s:\n{self.tail()}")
            await asyncio.sleep(0.1)

    async def _ready(self) -> bool:
        if self.command == "worker":
            return WORKER_READY in self.log_file.read_bytes()[self._offset :]
        try:
            async with httpx.AsyncClient(timeout=2) as http:
                return (await http.get(f"{self.base_url}/health")).status_code == 200
        except httpx.HTTPError:
            return False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.env['HTTP_PORT']}"

    def signal(self, signum: signal.Signals) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signum)

    def kill(self) -> None:
        """SIGKILL: no shutdown of any kind, as a crashed machine or the OOM killer leaves it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM, SIGKILL if it has not exited within `timeout`."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, lines: int = 40) -> str:
        if not self.log_file.exists():
            return ""
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])


@asynccontextmanager
async def replicas(
    env: dict[str, str], log_dir: Path, *, apis: int, workers: int
) -> AsyncIterator[tuple[list[ServiceProcess], list[ServiceProcess]]]:
    """`apis` API and `workers` worker processes, started side by side; all stopped on exit."""
    api_processes = [
        ServiceProcess(f"api-{n}", "api", {**env, "HTTP_PORT": str(free_port())}, log_dir / f"api-{n}.log")
        for n in range(1, apis + 1)
    ]
    worker_processes = [
        ServiceProcess(f"worker-{n}", "worker", env, log_dir / f"worker-{n}.log")
        for n in range(1, workers + 1)
    ]
    everything = api_processes + worker_processes
    try:
        for process in everything:
            process.launch()
        await asyncio.gather(*(process.wait_until_ready() for process in everything))
        yield api_processes, worker_processes
    finally:
        for process in everything:
            process.signal(signal.SIGTERM)
        for process in everything:
            process.stop()
