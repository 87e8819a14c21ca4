"""The Temporal worker: hosts `AppointmentWorkflow` and the activities it calls.

A package (not only the top-level `worker.py`) so that the installed `appointments worker`
command can import it; `python worker.py` re-exports it and keeps working. It reads its
configuration from the environment (see README).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import AsyncExitStack
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.notifications import NotificationActivities
from activities.projection import ProjectionActivities
from activities.rooms import RoomActivities
from activities.webhooks import WebhookActivities
from config import Settings, load_settings
from mail.sender import SmtpSender
from storage.appointments import AppointmentStore
from storage.database import create_engine
from storage.notification_log import NotificationLog
from storage.webhooks import WebhookStore
from temporal_access.client import connect
from workflows.appointment import AppointmentWorkflow

log = logging.getLogger("worker")


async def connect_temporal(settings: Settings) -> Client:
    return await connect(settings)


def build_worker(
    client: Client, settings: Settings, engine: AsyncEngine, *, task_queue: str | None = None
) -> Worker:
    store = AppointmentStore(engine)
    projection = ProjectionActivities(store)
    rooms = RoomActivities(settings.room_base_url)
    webhooks = WebhookActivities(
        WebhookStore(engine),
        allow_private=settings.webhooks_allow_private,
        allow_loopback=settings.webhooks_allow_loopback,
    )
    notifications = NotificationActivities(
        SmtpSender.from_settings(settings), NotificationLog(engine), settings.public_base_url
    )
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=[AppointmentWorkflow],
        activities=[
            projection.project,
            rooms.provision,
            notifications.send,
            webhooks.match,
            webhooks.deliver,
        ],
        # Let in-flight activities finish on a graceful stop instead of waiting for retries.
        graceful_shutdown_timeout=timedelta(seconds=5),
    )


async def main() -> None:
    settings = load_settings()
    async with AsyncExitStack() as stack:
        engine = create_engine(settings.database_url)
        stack.push_async_callback(engine.dispose)
        client = await connect_temporal(settings)
        worker = build_worker(client, settings, engine)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with worker:
            log.info("worker polling task queue %r on %s", settings.task_queue, settings.temporal_address)
            await stop.wait()
        log.info("worker stopped")


def run() -> None:
    """Configure logging and run the worker until SIGINT or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(main())
