"""Child processes of the stack: started in our process group, stopped TERM-then-KILL."""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("devstack")


@dataclass(frozen=True, slots=True)
class Child:
    name: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def poll(self) -> int | None:
        return self.process.poll()


def spawn(name: str, args: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> Child:
    # No new session or group: a `kill -9 -PGID` of the stack must reach every child.
    process = subprocess.Popen(list(args), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL)
    log.info("%s started (pid %s)", name, process.pid)
    return Child(name, process)


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


def terminate(children: Sequence[Child], timeout: float) -> None:
    """SIGTERM all at once, wait up to `timeout` in total, then SIGKILL the stragglers."""
    running = [c for c in children if c.poll() is None]
    for child in running:
        child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in running:
        try:
            child.process.wait(max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0f s, killing it", child.name, timeout)
            child.process.kill()
            child.process.wait()
        log.info("%s stopped", child.name)
