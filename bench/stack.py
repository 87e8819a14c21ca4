"""The whole service as `make run` starts it, for a benchmark: `python -m devstack` in a child.

Embedded PostgreSQL, the Temporal dev server (SQLite), the worker and the API served by uvicorn
(`python -m api`, as in production), each in its own process, on free ports and a data directory
of the benchmark's own. Benchmarks reach them as a client would: HTTP, the Temporal client and
the database URL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from api.auth.tokens import mint_token
from config.secrets import SECRET_VARIABLES, development_secrets
from config.settings import Settings, to_sqlalchemy_url
from devstack.net import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BENCH_DATA = PROJECT_ROOT / ".bench"
STARTUP_TIMEOUT = 180.0


@dataclass(frozen=True)
class Stack:
    settings: Settings
    process: subprocess.Popen[bytes]

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.http_port}"

    @property
    def database_url(self) -> str:
        """SQLAlchemy (asyncpg) URL of the read model, as the supervisor handed it to the API.

        Not `settings.database_url`: the embedded server's database is `appointments`, which
        only the supervisor knows.
        """
        return to_sqlalchemy_url(self.child("api").environ()["DATABASE_URL"])

    @property
    def temporal_address(self) -> str:
        return self.settings.temporal_address

    def token(self, *, sub: str, roles: list[str], application_id: str) -> str:
        """A token of the JWT secret the stack generated for its DATA_DIR."""
        secret = development_secrets(self.data_dir)["JWT_SECRET"]
        return mint_token(secret, sub=sub, roles=roles, application_id=application_id)

    def client(self, token: str, connections: int) -> httpx.AsyncClient:
        """An HTTP client of the API sending `token`, with up to `connections` connections."""
        return httpx.AsyncClient(
            base_url=self.api_url,
            headers={"Authorization": f"Bearer {token}"},
            limits=httpx.Limits(max_connections=connections),
            timeout=30,
        )

    def child(self, marker: str) -> psutil.Process:
        """The stack's process with an argument `marker` or ending in it (`worker.py`, `api`, ...)."""
        for child in psutil.Process(self.process.pid).children(recursive=True):
            if any(marker == arg or arg.endswith(marker) for arg in child.cmdline()):
                return child
        raise LookupError(f"no process {marker!r} in the stack")

    def postmaster(self) -> psutil.Process:
        """The embedded PostgreSQL server: a daemon of its own session, not a child of the stack."""
        pid_file = self.settings.postgres_dir / "postmaster.pid"
        return psutil.Process(int(pid_file.read_text().splitlines()[0]))

    def processes(self) -> dict[str, psutil.Process]:
        """Every server of the stack, by name, to account for their CPU."""
        return {
            "api": self.child("api"),
            "worker": self.child("worker.py"),
            "temporal": self.child("temporal"),
            "postgres": self.postmaster(),
        }


@contextmanager
def running_stack(name: str, *, fresh: bool = True, env: dict[str, str] | None = None) -> Iterator[Stack]:
    """Start the stack on `.bench/<name>` (wiped first when `fresh`), stop it on exit."""
    data_dir = BENCH_DATA / name
    if fresh and data_dir.exists():
        subprocess.run(["rm", "-rf", str(data_dir)], check=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    child_env = dict(os.environ)
    child_env.update(
        DATA_DIR=str(data_dir),
        HTTP_PORT=str(free_port()),
        TEMPORAL_PORT=str(free_port()),
        TEMPORAL_UI_PORT=str(free_port()),
        SMTP_PORT=str(free_port()),
        WORKER_METRICS_PORT=str(free_port()),
        API_METRICS_PORT=str(free_port()),
        LOG_LEVEL="WARNING",
    )
    child_env.update(env or {})
    # The stack's own servers, and the secrets it generates for its DATA_DIR.
    for key in ("DATABASE_URL", "TEMPORAL_ADDRESS", *SECRET_VARIABLES):
        child_env.pop(key, None)
    settings = Settings.from_env(child_env)
    log = (data_dir / "devstack.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack"],
        cwd=PROJECT_ROOT,
        env=child_env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack = Stack(settings=settings, process=process)
    try:
        _wait_healthy(stack, data_dir / "devstack.log")
        yield stack
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def _wait_healthy(stack: Stack, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if stack.process.poll() is not None:
            raise RuntimeError(f"the stack exited during startup; see {log}")
        try:
            with urllib.request.urlopen(f"{stack.api_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the stack was not healthy after {STARTUP_TIMEOUT:.0f} s; see {log}")
