"""SMTP failures: the API never waits for mail; refusals are recorded, outages retried."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from activities.notifications import NotificationActivities
from config import Settings
from devstack.net import free_port
from domain.access import Role
from domain.lifecycle import Reschedule
from domain.notification_plan import notification
from domain.notifications import NotificationType
from mail.sender import MailDeliveryError, SmtpSender
from storage.notification_log import NotificationLog
from tests.support.factories import new_appointment, principal
from tests.support.stack import SANDBOXED
from tests.workflows.test_notifications import NOTIFY, POLICY
from worker import build_worker
from workflows.appointment import AppointmentInput, AppointmentWorkflow, workflow_id


class _Refusing:
    """A real SMTP server that refuses every recipient, permanently or for now."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.attempts = 0

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        self.attempts += 1
        return self.code


@pytest.fixture
def refusing_smtp(request: pytest.FixtureRequest) -> Iterator[tuple[int, _Refusing]]:
    handler = _Refusing(request.param)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, handler
    controller.stop()


@pytest.mark.parametrize("refusing_smtp", ["550 5.1.1 no such mailbox"], indirect=True)
async def test_a_permanent_refusal_is_recorded_and_not_retried(
    refusing_smtp: tuple[int, _Refusing], engine: AsyncEngine
) -> None:
    port, handler = refusing_smtp
    appointment = new_appointment(principal(Role.AGENT))
    message = notification(NotificationType.CREATE, appointment, NOTIFY)
    assert message is not None
    log = NotificationLog(engine)
    activities = NotificationActivities(
        SmtpSender("127.0.0.1", port, sender="cc@example.test"), log, "https://x"
    )

    result = await activities.send(message)
    assert result.outcome == "REJECTED" and "550" in (result.error or "")
    again = await activities.send(message)
    assert again.outcome == "ALREADY_SENT" and handler.attempts == 1
    assert [row[3] for row in await log.for_appointment(appointment.id)] == ["REJECTED"]


@pytest.mark.parametrize("refusing_smtp", ["451 4.3.0 try again later"], indirect=True)
async def test_a_temporary_failure_is_raised_for_temporal_to_retry(
    refusing_smtp: tuple[int, _Refusing], engine: AsyncEngine
) -> None:
    port, _ = refusing_smtp
    appointment = new_appointment(principal(Role.AGENT))
    message = notification(NotificationType.CREATE, appointment, NOTIFY)
    assert message is not None
    activities = NotificationActivities(
        SmtpSender("127.0.0.1", port, sender="cc@example.test"), NotificationLog(engine), "https://x"
    )
    with pytest.raises(MailDeliveryError) as failure:
        await activities.send(message)
    assert not failure.value.permanent
    assert await NotificationLog(engine).for_appointment(appointment.id) == []


async def test_writes_do_not_wait_for_an_smtp_server_that_is_down(
    time_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str, tmp_path: Path
) -> None:
    settings = Settings.from_env({"SMTP_PORT": str(free_port()), **SANDBOXED})  # nothing listens there
    agent = principal(Role.AGENT)
    now = await time_env.get_current_time()
    appointment = new_appointment(agent, start=now + timedelta(days=1), now=now)
    async with build_worker(time_env.client, settings, engine, task_queue=task_queue):
        handle = await time_env.client.start_workflow(
            AppointmentWorkflow.run,
            AppointmentInput(appointment=appointment, policy=POLICY, notifications=NOTIFY),
            id=workflow_id(appointment.id),
            task_queue=task_queue,
        )
        async with asyncio.timeout(10):
            await handle.execute_update(AppointmentWorkflow.schedule)
            moved = await handle.execute_update(
                AppointmentWorkflow.reschedule,
                Reschedule(
                    actor=agent, start=now + timedelta(days=2), duration=timedelta(minutes=5), timezone="UTC"
                ),
            )
        assert moved.version == 2
        # The CREATE email is still owed, being retried in the background.
        description = await handle.describe()
        assert description.raw_description.pending_activities
