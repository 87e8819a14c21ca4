"""Lifecycle emails, reminders and the follow-up, sent by the workflow through real SMTP.

Time skips on the test server, so reminders an hour ahead arrive at once; the messages are
read back from the aiosmtpd sink with their calendar attachments.
"""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

import msgspec
from icalendar import Calendar
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.notifications import NotificationActivities
from devstack.smtp_sink import SmtpSink, StoredMessage
from domain.access import Role
from domain.activity_io import MessageRequest
from domain.activity_names import SEND_MESSAGE
from domain.commands import DELETE, END, RESCHEDULE, SCHEDULE
from domain.lifecycle import ActorCommand, Reschedule
from domain.model import Appointment, Contact, WorkflowPolicy
from domain.notification_plan import notification
from domain.notifications import Message, NotificationPolicy, NotificationType, Template
from domain.workflow_state import AppointmentState
from mail.sender import SmtpSender
from storage.appointments import AppointmentStore
from storage.notification_log import NotificationLog
from tests.support.factories import new_appointment, principal
from tests.support.secrets import SERVICE_KEYS
from tests.support.updates import update
from workflows.appointment import AppointmentWorkflow, workflow_id

POLICY = WorkflowPolicy(end_grace=timedelta(minutes=10))
TEMPLATES = (
    Template(
        type=NotificationType.CREATE, subject="Booked: {{title}}", text_body="Hi {{firstName}}, {{time24}}"
    ),
    Template(type=NotificationType.RESCHEDULE, subject="Moved: {{title}}", text_body="Now {{dd-MM-yyyy}}"),
    Template(
        type=NotificationType.CANCELLED, subject="Cancelled: {{title}}", text_body="Sorry {{firstName}}"
    ),
    Template(
        type=NotificationType.REMINDER,
        subject="In an hour",
        text_body="{{time24}}",
        period=timedelta(hours=1),
    ),
    Template(
        type=NotificationType.REMINDER,
        subject="In ten minutes",
        text_body="{{roomUrl}}",
        period=timedelta(minutes=10),
    ),
    Template(type=NotificationType.FOLLOW_UP, subject="How was it?", text_body="Thanks {{firstName}}"),
)
NOTIFY = NotificationPolicy(active=True, mail_from="Contact Center <cc@example.test>", templates=TEMPLATES)


def _for(appointment: Appointment):
    def matches(message: StoredMessage) -> bool:
        return message.message["X-Appointment-Id"] == appointment.id

    return matches


def _calendar(message: EmailMessage) -> Calendar:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            return Calendar.from_ical(part.get_content())
    raise AssertionError("no text/calendar part")


async def _start(
    env: WorkflowEnvironment, worker: Worker, appointment: Appointment, notify=NOTIFY
) -> WorkflowHandle:
    handle = await env.client.start_workflow(
        AppointmentWorkflow.run,
        AppointmentState(appointment=appointment, policy=POLICY, notifications=notify),
        id=workflow_id(appointment.id),
        task_queue=worker.task_queue,
    )
    await update(handle, SCHEDULE)
    return handle


async def test_create_reminders_reschedule_and_cancel(
    time_env: WorkflowEnvironment, worker: Worker, mail_sink: SmtpSink
) -> None:
    agent = principal(Role.AGENT)
    now = await time_env.get_current_time()
    appointment = new_appointment(agent, start=now + timedelta(hours=3), now=now)
    handle = await _start(time_env, worker, appointment)

    created = await mail_sink.wait_for_messages(_for(appointment))
    assert [m.subject for m in created] == ["Booked: Product installation review"]
    invite = _calendar(created[0].message)
    assert invite["METHOD"] == "REQUEST"
    event = invite.walk("VEVENT")[0]
    assert str(event["UID"]) == f"{appointment.id}@appointments" and int(event["SEQUENCE"]) == 0

    # Moving the start re-arms both reminders for the new time.
    moved = await update(
        handle,
        RESCHEDULE,
        Reschedule(
            actor=agent, start=now + timedelta(hours=5), duration=timedelta(minutes=30), timezone="UTC"
        ),
    )
    rescheduled = await mail_sink.wait_for_messages(
        lambda m: _for(appointment)(m) and m.subject.startswith("Moved")
    )
    moved_event = _calendar(rescheduled[0].message).walk("VEVENT")[0]
    assert str(moved_event["UID"]) == f"{appointment.id}@appointments" and int(moved_event["SEQUENCE"]) == 1

    await time_env.sleep(timedelta(hours=4, minutes=1))  # past the old start, before the new one
    reminders = [m for m in mail_sink.messages() if _for(appointment)(m) and m.subject.startswith("In ")]
    assert [m.subject for m in reminders] == ["In an hour"]
    await time_env.sleep(timedelta(minutes=50))
    reminders = [m for m in mail_sink.messages() if _for(appointment)(m) and m.subject.startswith("In ")]
    assert sorted(m.subject for m in reminders) == ["In an hour", "In ten minutes"]
    assert (await time_env.get_current_time()) < moved.start

    await update(handle, DELETE, ActorCommand(actor=agent))
    await handle.result()
    cancelled = [
        m for m in mail_sink.messages() if _for(appointment)(m) and m.subject.startswith("Cancelled")
    ]
    assert len(cancelled) == 1
    assert _calendar(cancelled[0].message)["METHOD"] == "CANCEL"
    # Deleted: no follow-up, and nothing sent twice.
    subjects = [m.subject for m in mail_sink.messages() if _for(appointment)(m)]
    assert len(subjects) == len(set(subjects)) == 5


async def test_no_reminder_after_delete_and_none_late(
    time_env: WorkflowEnvironment, worker: Worker, mail_sink: SmtpSink
) -> None:
    agent = principal(Role.AGENT)
    now = await time_env.get_current_time()
    # Starting in 30 minutes: the one-hour reminder is already too late and must not be sent.
    soon = new_appointment(agent, start=now + timedelta(minutes=30), now=now)
    soon_handle = await _start(time_env, worker, soon)
    later = new_appointment(agent, start=now + timedelta(hours=2), now=now)
    later_handle = await _start(time_env, worker, later)
    await update(later_handle, DELETE, ActorCommand(actor=agent))

    await time_env.sleep(timedelta(hours=3))
    await soon_handle.result()
    soon_subjects = sorted(m.subject for m in mail_sink.messages() if _for(soon)(m))
    assert soon_subjects == ["Booked: Product installation review", "How was it?", "In ten minutes"]
    later_subjects = sorted(m.subject for m in mail_sink.messages() if _for(later)(m))
    assert later_subjects == ["Booked: Product installation review", "Cancelled: Product installation review"]


async def test_follow_up_after_an_explicit_end(
    time_env: WorkflowEnvironment, worker: Worker, mail_sink: SmtpSink
) -> None:
    agent = principal(Role.AGENT)
    now = await time_env.get_current_time()
    appointment = new_appointment(agent, start=now + timedelta(minutes=5), now=now)
    handle = await _start(time_env, worker, appointment)
    await update(handle, END, ActorCommand(actor=agent))
    await time_env.sleep(timedelta(hours=1))
    final = await handle.result()
    follow_ups = [m for m in mail_sink.messages() if _for(appointment)(m) and m.subject == "How was it?"]
    assert len(follow_ups) == 1
    assert final.status.value == "ENDED"


async def test_no_email_without_active_notifications_or_address(
    time_env: WorkflowEnvironment, worker: Worker, mail_sink: SmtpSink
) -> None:
    agent = principal(Role.AGENT)
    now = await time_env.get_current_time()
    silent = new_appointment(agent, now=now)
    await _start(time_env, worker, silent, notify=msgspec.structs.replace(NOTIFY, active=False))
    base = new_appointment(agent, now=now)
    customer = msgspec.structs.replace(base.participants[0], contact=Contact(primary_phone="123"))
    no_address = msgspec.structs.replace(base, participants=(customer, base.participants[1]))
    await _start(time_env, worker, no_address)
    await time_env.sleep(timedelta(minutes=1))
    assert not [m for m in mail_sink.messages() if _for(silent)(m) or _for(no_address)(m)]


async def test_a_retried_send_does_not_mail_twice(
    time_env: WorkflowEnvironment, worker: Worker, mail_sink: SmtpSink, engine: AsyncEngine
) -> None:
    """The activity is idempotent: the same notification sent again is recognised and skipped."""
    agent = principal(Role.AGENT)
    appointment = new_appointment(agent, now=await time_env.get_current_time())
    message = notification(NotificationType.CREATE, appointment, NOTIFY, key=f"{appointment.id}:retry-test")
    assert message is not None
    activities = NotificationActivities(
        SmtpSender("127.0.0.1", mail_sink.port, sender="cc@example.test"),
        NotificationLog(engine),
        "https://x.test",
        SERVICE_KEYS,
        AppointmentStore(engine),
    )
    first = await activities.send_message(await _recorded(engine, appointment, message))
    second = await activities.send_message(await _recorded(engine, appointment, message))
    assert (first.outcome, second.outcome) == ("SENT", "ALREADY_SENT")
    assert len([m for m in mail_sink.messages() if _for(appointment)(m)]) == 1


async def _recorded(engine: AsyncEngine, appointment: Appointment, message: Message) -> MessageRequest:
    """The request of a message about `appointment`, once the read model holds it (as the
    workflow records a change before its message goes out)."""
    await AppointmentStore(engine).project(appointment)
    return MessageRequest(appointment_id=appointment.id, message=message)


async def test_a_reminder_goes_out_in_the_workflow_task_its_timer_wakes(
    time_env: WorkflowEnvironment, worker: Worker, mail_sink: SmtpSink
) -> None:
    """The CREATE message, caused by an Update, is an activity; the reminder a local activity,
    recorded as a marker of the task that its timer woke; the history replays."""
    agent = principal(Role.AGENT)
    now = await time_env.get_current_time()
    appointment = new_appointment(agent, start=now + timedelta(hours=2), now=now)
    handle = await _start(time_env, worker, appointment)
    await mail_sink.wait_for_messages(_for(appointment))

    await time_env.sleep(timedelta(hours=1, minutes=1))
    await mail_sink.wait_for_messages(lambda m: _for(appointment)(m) and m.subject == "In an hour")

    history = await handle.fetch_history()
    activities = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert activities == [SEND_MESSAGE]
    local_sends = [
        e
        for e in history.events
        if e.marker_recorded_event_attributes.marker_name == "core_local_activity"
        and SEND_MESSAGE.encode() in e.marker_recorded_event_attributes.SerializeToString()
    ]
    assert len(local_sends) == 1
    replayed = await Replayer(
        workflows=[AppointmentWorkflow], data_converter=time_env.client.data_converter
    ).replay_workflow(history, raise_on_replay_failure=False)
    assert replayed.replay_failure is None
