"""The Temporal worker: hosts `AppointmentWorkflow` and the activities it calls.

A package (not only the top-level `worker.py`) so that the installed `appointments worker`
command can import it; `python worker.py` re-exports it and keeps working. It reads its
configuration from the environment (see README).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import py_compile
import signal
import sys
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.common import MetricMeter
from temporalio.worker import (
    PollerBehaviorSimpleMaximum,
    UnsandboxedWorkflowRunner,
    Worker,
    WorkflowRunner,
)
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.notifications import NotificationActivities
from activities.projection import ProjectionActivities
from activities.records import RecordActivities
from activities.rooms import RoomActivities
from activities.webhooks import WebhookActivities
from config import Settings, load_settings
from config.logs import configure_logging
from config.secrets import Process, check_secrets, require
from config.settings import SettingsError
from config.tracing import WORKER_SERVICE, start_tracing
from domain.keys import ServiceKeys
from mail.sender import SmtpSender
from storage.appointments import AppointmentStore
from storage.changes import ChangeStore
from storage.database import create_engine
from storage.notification_log import NotificationLog
from storage.webhooks import WebhookStore
from temporal_access.client import codec_for, connect
from temporal_access.codec import CodecKeyError
from temporal_access.runtime import worker_runtime
from worker_host.gc_pauses import recording_gc_pauses
from workflows.appointment import AppointmentWorkflow

try:
    import uvloop
except ImportError:  # not on Windows
    uvloop = None

log = logging.getLogger("worker")

# Workflow tasks run in threads while activities and polls run on the event loop, and all take
# turns holding the GIL. By default a thread keeps it for 5 ms before a waiting one may take it,
# which under load stretched each await of an email's activity to tens of milliseconds; a tenth
# of that keeps reminders on time (docs/BENCHMARKS.md, timers at scale).
GIL_SWITCH_INTERVAL = 0.0005
# Half the workflow-task polls wait on the task queue itself, where new appointments arrive
# (update-with-start, at the API's pace), half on this worker's sticky queue, where the timers
# and changes of the workflows it holds arrive. The SDK's default gives the first a single poll,
# so that every new appointment waited for the one before it (docs/BENCHMARKS.md, write path).
NONSTICKY_POLL_SHARE = 0.5
# A poll holds a workflow-task slot while it waits, and a task holds its slot until its local
# activities (a reminder's email) are done. More polls than this only queue at the server; the
# slots beyond them are for tasks waiting on their local activities, so that a minute of
# reminders is not held to the few slots the idle polls of new appointments leave
# (docs/BENCHMARKS.md, timers).
WORKFLOW_TASK_POLLS = 8


async def connect_temporal(settings: Settings) -> Client:
    # The worker's own SDK runtime: Temporal's metrics on WORKER_METRICS_PORT, core logs as ours.
    return await connect(settings, runtime=worker_runtime(settings))


def runtime_meter(client: Client) -> MetricMeter:
    """The meter of the client's own runtime: what it records comes out on WORKER_METRICS_PORT."""
    runtime = client.service_client.config.runtime
    return runtime.metric_meter if runtime is not None else MetricMeter.noop


def cache_workflow_bytecode() -> None:
    """Write the bytecode of the workflow package's modules next to their sources.

    The sandbox (WORKER_WORKFLOW_SANDBOX) imports the workflow modules afresh for every workflow
    it starts or replays; where bytecode is not written on import (PYTHONDONTWRITEBYTECODE, a
    fresh checkout) each of those imports would compile the sources again, which was half of that
    cost (docs/BENCHMARKS.md). An installed package already has its bytecode; a read-only tree
    only loses the saving.
    """
    source = inspect.getsourcefile(AppointmentWorkflow)
    if source is None:
        return
    for module in Path(source).parent.glob("*.py"):
        try:
            py_compile.compile(str(module), doraise=True)
        except (OSError, py_compile.PyCompileError) as error:
            log.warning("could not cache the bytecode of %s: %s", module, error)


def workflow_runner(sandboxed: bool) -> WorkflowRunner:
    return SandboxedWorkflowRunner() if sandboxed else UnsandboxedWorkflowRunner()


def worker_activities(settings: Settings, engine: AsyncEngine) -> list[Callable[..., Any]]:
    """Every activity the workflows call, with its dependencies."""
    store = AppointmentStore(engine)
    records = RecordActivities(ChangeStore(engine))
    projection = ProjectionActivities(store)
    rooms = RoomActivities(settings.room_base_url)
    webhooks = WebhookActivities(
        WebhookStore(engine),
        store,
        allow_private=settings.webhooks_allow_private,
        allow_loopback=settings.webhooks_allow_loopback,
    )
    notifications = NotificationActivities(
        SmtpSender.from_settings(settings),
        NotificationLog(engine),
        settings.public_base_url,
        ServiceKeys(require(settings.service_secret, "SERVICE_SECRET")),
        store,
    )
    return [
        records.record,
        rooms.provision,
        notifications.send_message,
        webhooks.post,
        # What runs started before the bounded state still call (workflows.legacy).
        projection.project,
        notifications.send,
        webhooks.match,
        webhooks.deliver,
    ]


def build_worker(
    client: Client,
    settings: Settings,
    engine: AsyncEngine,
    *,
    task_queue: str | None = None,
    activities: list[Callable[..., Any]] | None = None,
) -> Worker:
    """The worker of `settings`; `activities` replaces the service's own (worker_activities)."""
    check_secrets(settings, Process.WORKER)
    if settings.worker_workflow_sandbox:
        cache_workflow_bytecode()
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=[AppointmentWorkflow],
        activities=activities if activities is not None else worker_activities(settings, engine),
        # Let in-flight activities finish on a graceful stop instead of waiting for retries.
        graceful_shutdown_timeout=timedelta(seconds=5),
        max_cached_workflows=settings.worker_max_cached_workflows,
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        workflow_task_poller_behavior=PollerBehaviorSimpleMaximum(
            min(WORKFLOW_TASK_POLLS, settings.worker_max_concurrent_workflow_tasks)
        ),
        nonsticky_to_sticky_poll_ratio=NONSTICKY_POLL_SHARE,
        workflow_runner=workflow_runner(settings.worker_workflow_sandbox),
    )


async def main() -> None:
    settings = load_settings()
    async with AsyncExitStack() as stack:
        engine = create_engine(settings.database_url)
        stack.push_async_callback(engine.dispose)
        client = await connect_temporal(settings)
        stack.enter_context(recording_gc_pauses(runtime_meter(client)))
        worker = build_worker(client, settings, engine)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with worker:
            log.info("worker polling task queue %r on %s", settings.task_queue, settings.temporal_address)
            if settings.worker_metrics_port:
                log.info(
                    "worker metrics on http://%s:%s/metrics",
                    settings.metrics_host,
                    settings.worker_metrics_port,
                )
            await stop.wait()
        log.info("worker stopped")


def run_event_loop(work: Coroutine[Any, Any, None]) -> None:
    """On uvloop where it is installed (uvicorn[standard] brings it on Linux, as for the API): its
    sockets and wake-ups from the SDK's threads cost the loop less CPU than asyncio's own, and the
    loop is what a minute of reminders waits on (docs/BENCHMARKS.md, timers)."""
    if uvloop is None:
        asyncio.run(work)
    else:
        uvloop.run(work)


def run() -> None:
    """Configure logging and run the worker until SIGINT or SIGTERM."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    try:
        settings = load_settings()
        check_secrets(settings, Process.WORKER)
        # Every key of PAYLOAD_KEYS parses: a bad one stops the worker here, not at its first payload.
        codec_for(settings)
    except (SettingsError, CodecKeyError) as error:
        # One line naming the variable: the worker never runs a workflow on a bad secret.
        print(f"appointments worker: {error}", file=sys.stderr)
        sys.exit(2)
    configure_logging(settings.log_level, json=settings.log_format == "json")
    start_tracing(settings, WORKER_SERVICE)
    run_event_loop(main())
