"""`python -m devstack`: start the embedded stack, watch it, and tear all of it down on exit."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from config.settings import Settings, to_sqlalchemy_url
from devstack import banner
from devstack.net import LOCALHOST, free_port, port_is_free
from devstack.postgres import EmbeddedPostgres
from devstack.processes import Child, describe_exit, spawn, terminate
from devstack.secrets import load_or_create
from devstack.smtp_sink import SmtpSink
from devstack.temporal import TemporalDevServer

log = logging.getLogger("devstack")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 120.0
CHILD_STOP_TIMEOUT = 5.0
# The Prometheus listeners of the development stack, unless API_METRICS_PORT / WORKER_METRICS_PORT
# say otherwise.
DEFAULT_API_METRICS_PORT = 9465
DEFAULT_WORKER_METRICS_PORT = 9464


def _metrics_port(variable: str, configured: int | None, default: int) -> int | None:
    """The port `variable` names (0: off), or else `default`, or else, when another stack holds it,
    any free port: a second `make run` given its own HTTP, Temporal and SMTP ports starts beside the
    first, and its banner prints where its metrics are."""
    if variable in os.environ:
        return configured
    return default if port_is_free(default) else free_port()


class StartupError(RuntimeError):
    pass


class StopRequested(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Signals:
    """SIGINT, SIGTERM and SIGHUP raise StopRequested in the main thread.

    Inside `deferred()` (starting something we could not clean up if interrupted half-way) the
    signal is remembered and raised on leaving the block. Once stopping, further signals are
    ignored so that a second Ctrl-C cannot cut the clean-up short.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._deferred = 0
        self._stopping = False

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._handle)

    def stopping(self) -> None:
        self._stopping = True

    @contextmanager
    def deferred(self) -> Iterator[None]:
        self._deferred += 1
        try:
            yield
        finally:
            self._deferred -= 1
        if self._deferred == 0 and self.received is not None and not self._stopping:
            raise StopRequested(self.received)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._stopping:
            log.info("%s received, already stopping", signal.Signals(signum).name)
            return
        if self.received is None:
            log.info("%s received, stopping", signal.Signals(signum).name)
            self.received = signum
        if self._deferred == 0:
            raise StopRequested(signum)


class DevStack:
    def __init__(self, settings: Settings, signals: Signals) -> None:
        self.settings = settings
        self.signals = signals
        # Each stays None when DATABASE_URL / TEMPORAL_ADDRESS (or a Temporal profile's address) /
        # SMTP_HOST names a server to use.
        self.postgres: EmbeddedPostgres | None = None
        self.temporal: TemporalDevServer | None = None
        self.smtp: SmtpSink | None = None
        self.children: list[Child] = []
        self.database_url = ""
        self.temporal_address = settings.temporal_address
        self.temporal_ui_url: str | None = None
        # JWT_SECRET, PAYLOAD_KEYS, SERVICE_SECRET: generated once per DATA_DIR (devstack.secrets).
        self.secrets: dict[str, str] = {}
        self.api_metrics_port = _metrics_port(
            "API_METRICS_PORT", settings.api_metrics_port, DEFAULT_API_METRICS_PORT
        )
        self.worker_metrics_port = _metrics_port(
            "WORKER_METRICS_PORT", settings.worker_metrics_port, DEFAULT_WORKER_METRICS_PORT
        )

    @property
    def temporal_profile_file(self) -> Path:
        return self.settings.data_dir / "temporal.toml"

    @property
    def api_url(self) -> str:
        return f"http://{LOCALHOST}:{self.settings.http_port}"

    def start(self) -> None:
        settings = self.settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.secrets = load_or_create(settings.data_dir)
        self._check_ports()
        self._start_postgres()
        self._migrate()
        self._start_temporal()
        self._start_smtp()
        env = self._child_environment()
        worker = PROJECT_ROOT / "worker.py"
        if not worker.exists():
            raise StartupError(f"{worker} not found")
        for name, args in (("worker", [str(worker)]), ("api", ["-m", "api"])):
            with self.signals.deferred():
                self.children.append(spawn(name, [sys.executable, *args], cwd=PROJECT_ROOT, env=env))
        self._wait_healthy()

    def info(self) -> banner.StackInfo:
        smtp = f"{self.settings.smtp_host}:{self.settings.smtp_port}"
        return banner.StackInfo(
            api_url=self.api_url,
            temporal_address=self.temporal_address,
            temporal_ui_url=self.temporal_ui_url,
            temporal_profile_file=self.temporal_profile_file if self.temporal is not None else None,
            mail=(
                f"{self.settings.mail_dir}/   (one .eml per message; SMTP sink on {smtp})"
                if self.smtp is not None
                else f"sent to {smtp} (SMTP_HOST)"
            ),
            jwt_secret=self.secrets["JWT_SECRET"],
            namespace=self.settings.temporal_namespace,
            worker_metrics_url=(
                f"http://{LOCALHOST}:{self.worker_metrics_port}/metrics" if self.worker_metrics_port else None
            ),
            api_metrics_url=(
                f"http://{LOCALHOST}:{self.api_metrics_port}/metrics" if self.api_metrics_port else None
            ),
        )

    def watch(self) -> int:
        """Block until a signal (raises StopRequested) or until a part of the stack dies (returns 1)."""
        while True:
            for child in self.children:
                code = child.poll()
                if code is not None:
                    log.error("%s (pid %s) %s unexpectedly", child.name, child.pid, describe_exit(code))
                    return 1
            if self.temporal is not None and not self.temporal.is_running():
                log.error("temporal exited unexpectedly, see %s", self.temporal.log_file)
                return 1
            if self.postgres is not None and not self.postgres.is_running():
                log.error("postgres exited unexpectedly, see %s", self.settings.postgres_dir / "log")
                return 1
            time.sleep(0.25)

    def stop(self) -> None:
        """Stop everything that was started, dependents first; never raises."""
        steps: list[tuple[str, Callable[[], None] | None]] = [
            ("api and worker", lambda: terminate(self.children[::-1], CHILD_STOP_TIMEOUT)),
            ("temporal", self.temporal and self.temporal.stop),
            ("smtp sink", self.smtp and self.smtp.stop),
            ("postgres", self.postgres and self.postgres.stop),
        ]
        for what, step in steps:
            if step is None:
                continue
            try:
                step()
            except Exception:
                log.exception("stopping %s failed", what)

    def _check_ports(self) -> None:
        settings = self.settings
        wanted = {"HTTP_PORT": settings.http_port}
        if self.worker_metrics_port:
            wanted["WORKER_METRICS_PORT"] = self.worker_metrics_port
        if self.api_metrics_port:
            wanted["API_METRICS_PORT"] = self.api_metrics_port
        if settings.temporal_address_override is None:
            wanted |= {"TEMPORAL_PORT": settings.temporal_port, "TEMPORAL_UI_PORT": settings.temporal_ui_port}
        if settings.smtp_host_override is None:
            wanted["SMTP_PORT"] = settings.smtp_port
        busy = [f"{name}={port}" for name, port in wanted.items() if not port_is_free(port)]
        if busy:
            raise StartupError(
                f"port(s) already in use: {', '.join(busy)} (is another stack running?); "
                "set these variables to free ports"
            )

    def _start_postgres(self) -> None:
        if self.settings.database_url_override is not None:
            self.database_url = self.settings.database_url_override
            log.info("using the database of DATABASE_URL")
            return
        postgres = self.postgres = EmbeddedPostgres(self.settings.postgres_dir)
        # Deferred: a postmaster interrupted half-way through its start could escape stop().
        with self.signals.deferred():
            self.database_url = postgres.start()

    def _migrate(self) -> None:
        # A separate interpreter: Alembic's env.py may reconfigure logging and run its own loop.
        code = "import sys; from storage.migrations import upgrade; upgrade(sys.argv[1])"
        result = subprocess.run(
            [sys.executable, "-c", code, to_sqlalchemy_url(self.database_url)],
            cwd=PROJECT_ROOT,
            env=self._child_environment(),
            stdin=subprocess.DEVNULL,
            timeout=READY_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            raise StartupError(f"database migrations failed ({describe_exit(result.returncode)})")
        log.info("database migrations applied")

    def _start_temporal(self) -> None:
        settings = self.settings
        if settings.temporal_address_override is not None:
            log.info(
                "using the Temporal server at %s (TEMPORAL_ADDRESS or its profile)", self.temporal_address
            )
            return
        temporal = self.temporal = TemporalDevServer(
            db_file=settings.data_dir / "temporal.db",
            port=settings.temporal_port,
            ui_port=settings.temporal_ui_port,
            namespaces=("default", settings.temporal_namespace),
            log_file=settings.data_dir / "temporal.log",
            # The key of the codec route only this UI knows: it sends no token.
            codec_endpoint=(
                f"http://localhost:{settings.http_port}/codec/development/{self.secrets['CODEC_DEVELOPMENT_KEY']}"
            ),
        )
        temporal.start()
        self.temporal_ui_url = temporal.ui_url
        # The embedded server as a profile of Temporal's own config file: the API and the worker
        # connect through it, whatever profile file the developer's home holds, and so can the
        # `temporal` CLI (TEMPORAL_CONFIG_FILE=<DATA_DIR>/temporal.toml temporal workflow list).
        # JSON's string escapes are valid in TOML's basic strings.
        address, namespace = (
            json.dumps(value) for value in (self.temporal_address, settings.temporal_namespace)
        )
        self.temporal_profile_file.write_text(
            f"[profile.default]\naddress = {address}\nnamespace = {namespace}\n"
        )

    def _start_smtp(self) -> None:
        settings = self.settings
        if settings.smtp_host_override is not None:
            log.info("sending mail to %s:%s (SMTP_HOST)", settings.smtp_host, settings.smtp_port)
            return
        sink = self.smtp = SmtpSink(settings.mail_dir, port=settings.smtp_port)
        with self.signals.deferred():
            sink.start()

    def _child_environment(self) -> dict[str, str]:
        settings = self.settings
        env = dict(os.environ)
        env.update(
            self.secrets,
            DATA_DIR=str(settings.data_dir),
            # The development stack is reachable from this machine only.
            HTTP_HOST=LOCALHOST,
            METRICS_HOST=LOCALHOST,
            HTTP_PORT=str(settings.http_port),
            API_METRICS_PORT=str(self.api_metrics_port or 0),
            DATABASE_URL=self.database_url,
            TEMPORAL_ADDRESS=self.temporal_address,
            TEMPORAL_NAMESPACE=settings.temporal_namespace,
            TEMPORAL_TASK_QUEUE=settings.task_queue,
            SMTP_HOST=settings.smtp_host,
            SMTP_PORT=str(settings.smtp_port),
            PYTHONUNBUFFERED="1",
        )
        if self.temporal is not None:
            env.update(TEMPORAL_CONFIG_FILE=str(self.temporal_profile_file), TEMPORAL_PROFILE="default")
        # A webhook receiver on this machine is the usual development setup.
        env.setdefault("WEBHOOKS_ALLOW_LOOPBACK", "true")
        # Readable lines in the terminal; `LOG_FORMAT=json make run` shows what production logs.
        env.setdefault("LOG_FORMAT", "text")
        env["WORKER_METRICS_PORT"] = str(self.worker_metrics_port or 0)
        # Works without `pip install -e .` too (e.g. a venv made by hand).
        paths = [str(PROJECT_ROOT / "src"), str(PROJECT_ROOT), env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        return env

    def _wait_healthy(self) -> None:
        url = f"{self.api_url}/health"
        # No proxy: an HTTP_PROXY from the environment must not see (or answer) localhost calls.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + READY_TIMEOUT
        log.info("waiting for %s", url)
        while True:
            for child in self.children:
                code = child.poll()
                if code is not None:
                    raise StartupError(f"{child.name} {describe_exit(code)} during start-up")
            try:
                with opener.open(url, timeout=2.0) as response:
                    if response.status == 200:
                        log.info("api healthy")
                        return
            except (OSError, ValueError):
                pass  # not listening yet, or 503 (HTTPError) while its dependencies come up
            if time.monotonic() >= deadline:
                raise StartupError(f"{url} did not answer 200 within {READY_TIMEOUT:.0f} s")
            time.sleep(0.25)


def run(settings: Settings) -> int:
    """Run the stack until a signal (exit code 0) or a failure (exit code 1)."""
    signals = Signals()
    signals.install()
    stack = DevStack(settings, signals)
    code = 1
    try:
        stack.start()
        tokens = banner.demo_tokens(
            stack.secrets["JWT_SECRET"], audience=settings.jwt_audience, issuer=settings.jwt_issuer
        )
        print(banner.render(stack.info(), tokens), flush=True)
        code = stack.watch()
    except StopRequested:
        code = 0
    except StartupError as error:
        log.error("%s", error)
    except Exception:
        log.exception("the development stack failed")
    finally:
        signals.stopping()
        log.info("stopping")
        stack.stop()
        log.info("stopped")
    return code
