"""The workflow's state stays bounded by pure rules: what the outbox keeps, which handled keys
still count, how a subscription's queue is capped, and how a legacy run's input is read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from domain import delivery_queue, lifecycle, notification_plan
from domain.access import Role
from domain.commands import CHANGES, COMMANDS
from domain.errors import ErrorKind
from domain.lifecycle import Reschedule
from domain.model import WorkflowPolicy
from domain.notifications import Message, Notification, NotificationPolicy, NotificationType, Template
from domain.webhooks import AppointmentEvent, EventType, WebhookDelivery
from domain.workflow_input import AppointmentInput
from domain.workflow_state import AppointmentState, ChangeEvent, QueuedDelivery
from tests.support.factories import new_appointment, principal

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
AGENT = principal(Role.AGENT)
REMINDER = Template(type=NotificationType.REMINDER, subject="Soon", text_body="-", period=timedelta(hours=1))
POLICY = NotificationPolicy(
    active=True,
    templates=(
        *(
            Template(type=kind, subject=kind.value, text_body="-")
            for kind in (NotificationType.CREATE, NotificationType.RESCHEDULE, NotificationType.CANCELLED)
        ),
        REMINDER,
    ),
)


def _message(kind: NotificationType, key: str) -> Message:
    return Message(key=key, type=kind, template=REMINDER)


def test_a_thousand_reschedules_leave_one_reschedule_in_the_outbox() -> None:
    outbox: tuple[Message, ...] = (_message(NotificationType.CREATE, "a:CREATE"),)
    for n in range(1000):
        outbox = notification_plan.enqueue(
            outbox, _message(NotificationType.RESCHEDULE, f"a:RESCHEDULE:v{n}")
        )
    assert [m.key for m in outbox] == ["a:CREATE", "a:RESCHEDULE:v999"]


@pytest.mark.parametrize("newer", [NotificationType.RESCHEDULE, NotificationType.CANCELLED])
def test_a_new_schedule_or_a_cancellation_makes_unsent_reminders_moot(newer: NotificationType) -> None:
    outbox = (
        _message(NotificationType.CREATE, "a:CREATE"),
        _message(NotificationType.REMINDER, "a:REMINDER:PT1H:old-start"),
        _message(NotificationType.RESCHEDULE, "a:RESCHEDULE:v2"),
    )
    kept = notification_plan.enqueue(outbox, _message(newer, "a:newer"))
    assert [m.key for m in kept] == ["a:CREATE", "a:newer"]


def test_follow_ups_and_creates_are_never_replaced() -> None:
    outbox = (
        _message(NotificationType.CREATE, "a:CREATE"),
        _message(NotificationType.FOLLOW_UP, "a:FOLLOW_UP"),
    )
    kept = notification_plan.enqueue(outbox, _message(NotificationType.CANCELLED, "a:CANCELLED:v3"))
    assert [m.key for m in kept] == ["a:CREATE", "a:FOLLOW_UP", "a:CANCELLED:v3"]


def test_only_the_keys_of_the_current_schedule_are_kept() -> None:
    appointment = new_appointment(AGENT, start=NOW + timedelta(days=1), now=NOW)
    (first,) = notification_plan.timed(appointment, POLICY)
    handled = frozenset({f"{appointment.id}:CREATE", first.key, f"{appointment.id}:RESCHEDULE:v1"})
    assert notification_plan.relevant_keys(handled, appointment, POLICY) == {
        f"{appointment.id}:CREATE",
        first.key,
    }

    moved = lifecycle.reschedule(
        appointment,
        Reschedule(
            actor=AGENT, start=NOW + timedelta(days=2), duration=timedelta(minutes=30), timezone="UTC"
        ),
        WorkflowPolicy(),
        NOW,
    )
    # The reminder of the old start can never be planned again: its key goes.
    assert notification_plan.relevant_keys(handled, moved, POLICY) == {f"{appointment.id}:CREATE"}


def test_a_reminder_is_due_at_its_time_and_skipped_when_long_past() -> None:
    appointment = new_appointment(AGENT, start=NOW + timedelta(days=1), now=NOW)
    (reminder,) = notification_plan.timed(appointment, POLICY)
    end = appointment.end + timedelta(hours=1)

    assert notification_plan.next_wake(appointment, POLICY, set(), end) == (reminder.due, "REMINDER message")
    assert notification_plan.next_wake(appointment, POLICY, {reminder.key}, end) == (
        end,
        "end of interaction",
    )
    assert notification_plan.due(appointment, POLICY, set(), reminder.due - timedelta(seconds=1)) == ([], [])

    send, skipped = notification_plan.due(appointment, POLICY, set(), reminder.due + timedelta(seconds=30))
    assert [m.key for m in send] == [reminder.key] and skipped == []
    assert notification_plan.due(appointment, POLICY, {reminder.key}, reminder.due) == ([], [])

    send, skipped = notification_plan.due(appointment, POLICY, set(), reminder.due + timedelta(minutes=5))
    assert send == [] and skipped == [reminder]


def test_the_create_message_is_keyed_on_the_appointment_alone() -> None:
    appointment = new_appointment(AGENT, start=NOW + timedelta(days=1), now=NOW)
    created = notification_plan.created(appointment, POLICY)
    assert created is not None and created.key == f"{appointment.id}:CREATE"
    assert notification_plan.created(appointment, NotificationPolicy(active=False)) is None


def _delivery(n: int, webhook_id: str = "w") -> QueuedDelivery:
    return QueuedDelivery(
        webhook_id=webhook_id,
        event=ChangeEvent(id=f"e{n}", type=EventType.APPOINTMENT_UPDATED, timestamp=NOW, version=n),
        expires_at=delivery_queue.expires(NOW),
    )


def test_a_full_queue_drops_its_oldest_delivery_not_being_sent() -> None:
    queue = tuple(_delivery(n) for n in range(delivery_queue.MAX_QUEUED))
    grown, dropped = delivery_queue.enqueue(queue, _delivery(1000), sending=False)
    assert dropped == queue[0] and len(grown) == delivery_queue.MAX_QUEUED and grown[-1] == _delivery(1000)

    grown, dropped = delivery_queue.enqueue(queue, _delivery(1000), sending=True)
    assert dropped == queue[1] and grown[0] == queue[0] and len(grown) == delivery_queue.MAX_QUEUED


def test_a_queue_under_its_cap_drops_nothing() -> None:
    grown, dropped = delivery_queue.enqueue((_delivery(0),), _delivery(1), sending=True)
    assert dropped is None and grown == (_delivery(0), _delivery(1))


def test_every_delivery_expires_a_day_after_its_change() -> None:
    carried = QueuedDelivery(webhook_id="w", event=_delivery(0).event)  # from a run that did not stamp it
    assert (
        delivery_queue.deadline(carried)
        == NOW + delivery_queue.GIVE_UP
        == delivery_queue.deadline(_delivery(0))
    )


def test_a_legacy_runs_input_is_read_as_the_state() -> None:
    """A run of the old workflow that continues as new hands over its input: the next run, of the
    current code, reads it as its state, keeping what was owed by id and version."""
    appointment = new_appointment(AGENT, now=NOW)
    event = AppointmentEvent(
        id="e1", type=EventType.APPOINTMENT_CREATED, timestamp=NOW, appointment=appointment
    )
    legacy = AppointmentInput(
        appointment=appointment,
        policy=WorkflowPolicy(end_grace=timedelta(minutes=5)),
        notifications=POLICY,
        projected_version=1,
        handled=(f"{appointment.id}:CREATE",),
        outbox=(
            Notification(
                key=f"{appointment.id}:CREATE",
                type=NotificationType.CREATE,
                template=POLICY.templates[0],
                appointment=appointment,
            ),
        ),
        events=(event,),
        deliveries=(WebhookDelivery(webhook_id="w", event=event),),
    )

    state = msgspec.json.decode(msgspec.json.encode(legacy), type=AppointmentState)

    assert state.appointment == appointment and state.policy == legacy.policy
    assert state.notifications == POLICY and state.projected_version == 1 and state.handled == legacy.handled
    assert [(m.key, m.type) for m in state.outbox] == [(f"{appointment.id}:CREATE", NotificationType.CREATE)]
    assert state.events == (ChangeEvent(id="e1", type=EventType.APPOINTMENT_CREATED, timestamp=NOW),)
    assert state.deliveries == (QueuedDelivery(webhook_id="w", event=state.events[0]),)
    assert state.policy.history_limit == WorkflowPolicy().history_limit


def test_a_history_limit_too_low_to_make_progress_is_refused() -> None:
    with pytest.raises(msgspec.ValidationError, match="historyLimit"):
        msgspec.convert({"historyLimit": 10}, WorkflowPolicy)


def test_every_command_is_declared_once_and_may_be_refused_to_a_stranger() -> None:
    names = [command.name for command in COMMANDS]
    assert len(names) == len(set(names))
    assert all(command.roles for command in COMMANDS)
    assert all(ErrorKind.FORBIDDEN in command.refusals for command in COMMANDS)
    assert all(command.rule is not None and command.event is not None for command in CHANGES)
