"""SMTP failures: the API never waits for mail; refusals are recorded, outages retried."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.notifications import NotificationActivities
from devstack.net import free_port
from domain.access import Principal, Role
from domain.activity_io import MessageRequest
from domain.commands import RESCHEDULE, SCHEDULE
from domain.lifecycle import Reschedule
from domain.model import Appointment, Contact, Participant, ParticipantType
from domain.notification_plan import notification
from domain.notifications import Message, NotificationType
from domain.workflow_state import AppointmentState
from mail.sender import MailDeliveryError, SmtpSender
from storage.appointments import AppointmentStore
from storage.notification_log import NotificationLog
from tests.support.factories import new_appointment, principal
from tests.support.secrets import SERVICE_KEYS, session_settings
from tests.support.smtp import RefusingSmtp, refusing_smtp_server
from tests.support.stack import SANDBOXED
from tests.support.updates import update
from tests.workflows.test_notifications import NOTIFY, POLICY
from worker import build_worker
from workflows.appointment import AppointmentWorkflow, workflow_id


async def _recorded(engine: AsyncEngine, appointment: Appointment, message: Message) -> MessageRequest:
    """The request of a message about `appointment`, once the read model holds it (as the
    workflow records a change before its message goes out)."""
    await AppointmentStore(engine).project(appointment)
    return MessageRequest(appointment_id=appointment.id, message=message)


@pytest.fixture
def refusing_smtp(request: pytest.FixtureRequest) -> Iterator[tuple[int, RefusingSmtp]]:
    with refusing_smtp_server(request.param) as server:
        yield server


@pytest.mark.parametrize("refusing_smtp", ["550 5.1.1 no such mailbox"], indirect=True)
async def test_a_permanent_refusal_is_recorded_and_not_retried(
    refusing_smtp: tuple[int, RefusingSmtp], engine: AsyncEngine
) -> None:
    port, handler = refusing_smtp
    appointment = new_appointment(principal(Role.AGENT))
    message = notification(NotificationType.CREATE, appointment, NOTIFY)
    assert message is not None
    log = NotificationLog(engine)
    activities = NotificationActivities(
        SmtpSender("127.0.0.1", port, sender="cc@example.test"),
        log,
        "https://x",
        SERVICE_KEYS,
        AppointmentStore(engine),
    )

    result = await activities.send_message(await _recorded(engine, appointment, message))
    assert result.outcome == "REJECTED" and "550" in (result.error or "")
    again = await activities.send_message(await _recorded(engine, appointment, message))
    assert again.outcome == "ALREADY_SENT" and handler.attempts == 1
    assert [row[3] for row in await log.for_appointment(appointment.id)] == ["REJECTED"]


@pytest.mark.parametrize("refusing_smtp", ["451 4.3.0 try again later"], indirect=True)
async def test_a_temporary_failure_is_raised_for_temporal_to_retry(
    refusing_smtp: tuple[int, RefusingSmtp], engine: AsyncEngine
) -> None:
    port, _ = refusing_smtp
    appointment = new_appointment(principal(Role.AGENT))
    message = notification(NotificationType.CREATE, appointment, NOTIFY)
    assert message is not None
    activities = NotificationActivities(
        SmtpSender("127.0.0.1", port, sender="cc@example.test"),
        NotificationLog(engine),
        "https://x",
        SERVICE_KEYS,
        AppointmentStore(engine),
    )
    with pytest.raises(MailDeliveryError) as failure:
        await activities.send_message(await _recorded(engine, appointment, message))
    assert not failure.value.permanent
    assert await NotificationLog(engine).for_appointment(appointment.id) == []


async def _schedule_then_move(
    client: Client, appointment: Appointment, agent: Principal, now: datetime, task_queue: str
) -> tuple[WorkflowHandle[Any, Any], Appointment]:
    """Start the appointment's workflow, then move it a day later: two messages owed."""
    handle = await client.start_workflow(
        AppointmentWorkflow.run,
        AppointmentState(appointment=appointment, policy=POLICY, notifications=NOTIFY),
        id=workflow_id(appointment.id),
        task_queue=task_queue,
    )
    async with asyncio.timeout(10):
        await update(handle, SCHEDULE)
        moved = await update(
            handle,
            RESCHEDULE,
            Reschedule(
                actor=agent, start=now + timedelta(days=2), duration=timedelta(minutes=5), timezone="UTC"
            ),
        )
    return handle, moved


async def test_writes_do_not_wait_for_an_smtp_server_that_is_down(
    time_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str, tmp_path: Path
) -> None:
    settings = session_settings({"SMTP_PORT": str(free_port()), **SANDBOXED})  # nothing listens there
    agent = principal(Role.AGENT)
    now = await time_env.get_current_time()
    appointment = new_appointment(agent, start=now + timedelta(days=1), now=now)
    async with build_worker(time_env.client, settings, engine, task_queue=task_queue):
        handle, moved = await _schedule_then_move(time_env.client, appointment, agent, now, task_queue)
        assert moved.version == 2
        # The CREATE email is still owed, being retried in the background.
        description = await handle.describe()
        assert description.raw_description.pending_activities


class _Collecting:
    """A real SMTP server without SMTPUTF8 (as many are) that keeps what it accepts."""

    def __init__(self) -> None:
        self.received: list[Envelope] = []
        self.arrived = asyncio.Event()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append(envelope)
        self.arrived.set()
        return "250 OK"

    async def wait_for(self, count: int) -> None:
        while len(self.received) < count:
            self.arrived.clear()
            await self.arrived.wait()


@pytest.fixture
def plain_smtp() -> Iterator[tuple[int, _Collecting]]:
    handler = _Collecting()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=False)
    controller.start()
    yield port, handler
    controller.stop()


def _stored_before_the_checks(organizer: Principal, now: datetime) -> Appointment:
    """An appointment as older versions could store it: a title and an address with line separators,
    and an address this server cannot take; beside them a customer who must get every message."""
    appointment = new_appointment(organizer, now=now)
    customers = [
        Participant(id=f"c-{n}", type=ParticipantType.CUSTOMER, contact=Contact(primary_email=address))
        for n, address in enumerate(("ada\u2028@example.test", "zoë@example.test"))
    ]
    return msgspec.structs.replace(
        appointment,
        title="Review\u2028Bcc: x@example.test",
        participants=(*customers, *appointment.participants),
    )


async def test_a_message_that_can_never_go_out_is_recorded_at_once(
    plain_smtp: tuple[int, _Collecting], engine: AsyncEngine
) -> None:
    port, handler = plain_smtp
    appointment = _stored_before_the_checks(principal(Role.AGENT), datetime.now(UTC))
    message = notification(NotificationType.CREATE, appointment, NOTIFY)
    assert message is not None
    log = NotificationLog(engine)
    activities = NotificationActivities(
        SmtpSender("127.0.0.1", port, sender="cc@example.test"),
        log,
        "https://x",
        SERVICE_KEYS,
        AppointmentStore(engine),
    )

    result = await activities.send_message(
        await _recorded(engine, appointment, message)
    )  # returns: nothing for Temporal to retry

    assert result.outcome == "REJECTED" and result.recipients == 3
    statuses = {row[2]: (row[3], row[4] or "") for row in await log.for_appointment(appointment.id)}
    assert statuses["c-0"][0] == "FAILED" and "cannot be composed" in statuses["c-0"][1]
    assert statuses["c-1"][0] == "REJECTED" and "cannot take" in statuses["c-1"][1]
    assert [status for status, _ in statuses.values()].count("SENT") == 1
    assert [envelope.rcpt_tos for envelope in handler.received] == [["bobby@example.test"]]
    content = handler.received[0].content
    assert isinstance(content, bytes)
    headers = content.split(b"\r\n\r\n", 1)[0].decode()
    # The separator became a space: no header of its own could be smuggled in.
    assert "Subject: Booked: Review Bcc: x@example.test" in headers
    assert "\nBcc:" not in headers


async def test_later_messages_are_not_held_back_by_one_that_cannot_go_out(
    time_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str, plain_smtp: tuple[int, _Collecting]
) -> None:
    port, handler = plain_smtp
    settings = session_settings({"SMTP_PORT": str(port), **SANDBOXED})
    now = await time_env.get_current_time()
    agent = principal(Role.AGENT)
    appointment = _stored_before_the_checks(agent, now)
    async with build_worker(time_env.client, settings, engine, task_queue=task_queue):
        handle, _ = await _schedule_then_move(time_env.client, appointment, agent, now, task_queue)
        async with asyncio.timeout(30):
            await handler.wait_for(2)
        # Both messages reached the good address, the second right after the first: nothing waits
        # for a retry that could never succeed.
        assert [envelope.rcpt_tos for envelope in handler.received] == [["bobby@example.test"]] * 2
        for _ in range(100):
            pending = (await handle.describe()).raw_description.pending_activities
            if not pending:
                break
            await asyncio.sleep(0.1)  # the second send records its delivery, then completes
        assert not pending
