"""When an appointment sends which message: the pure schedule its workflow follows.

Every message has a key unique per (appointment, notification, version); the workflow
remembers the keys it has handled and the sending activity records the ones delivered, so
neither a replay nor a retry sends twice.
"""

from collections.abc import Set as AbstractSet
from datetime import datetime, timedelta

import msgspec

from domain.durations import format_duration
from domain.model import Appointment, Status
from domain.notifications import Message, NotificationPolicy, NotificationType, Template
from domain.rendering import choose_template

# A reminder whose time passed longer ago than this (a reschedule, a long outage) is not sent late.
REMINDER_TOLERANCE = timedelta(minutes=1)


class Planned(msgspec.Struct, frozen=True):
    """A timed message: due at `due`, identified by `key`."""

    due: datetime
    key: str
    kind: NotificationType
    template: Template


def notification(
    kind: NotificationType,
    appointment: Appointment,
    policy: NotificationPolicy,
    *,
    key: str | None = None,
    template: Template | None = None,
    due: datetime | None = None,
) -> Message | None:
    """The message of `kind` about this state of the appointment, if the policy sends one."""
    if not policy.active:
        return None
    template = template or choose_template(policy.templates, kind, appointment.locale)
    if template is None:
        return None
    return Message(
        key=key or f"{appointment.id}:{kind.value}:v{appointment.version}",
        type=kind,
        template=template,
        mail_from=policy.mail_from,
        due=due,
        version=appointment.version,
    )


def created(appointment: Appointment, policy: NotificationPolicy) -> Message | None:
    """The CREATE message, keyed on the appointment alone: a later run (continue-as-new) or a
    later version never announces it again."""
    message = notification(NotificationType.CREATE, appointment, policy)
    return None if message is None else msgspec.structs.replace(message, key=f"{appointment.id}:CREATE")


def timed(appointment: Appointment, policy: NotificationPolicy) -> list[Planned]:
    """Reminders before the start while the appointment is open; the follow-up after its end."""
    if not policy.active:
        return []
    planned: list[Planned] = []
    if appointment.status.is_open:
        periods = {t.period for t in policy.templates_of(NotificationType.REMINDER) if t.period}
        for period in sorted(periods):
            template = choose_template(
                policy.templates, NotificationType.REMINDER, appointment.locale, period
            )
            if template is None:
                continue
            # The start is part of the key: a reschedule arms a new reminder, even for the same period.
            key = f"{appointment.id}:REMINDER:{format_duration(period)}:{appointment.start.isoformat()}"
            planned.append(Planned(appointment.start - period, key, NotificationType.REMINDER, template))
    elif appointment.status is Status.ENDED:
        template = choose_template(policy.templates, NotificationType.FOLLOW_UP, appointment.locale)
        if template is not None:
            # After the scheduled end, and never before the interaction actually ended.
            due = max(appointment.end, appointment.updated_at) + (template.period or timedelta(0))
            planned.append(Planned(due, f"{appointment.id}:FOLLOW_UP", NotificationType.FOLLOW_UP, template))
    return planned


def is_too_late(planned: Planned, now: datetime) -> bool:
    return planned.kind is NotificationType.REMINDER and now - planned.due > REMINDER_TOLERANCE


def due(
    appointment: Appointment, policy: NotificationPolicy, handled: AbstractSet[str], now: datetime
) -> tuple[list[Message], list[Planned]]:
    """The timed messages to send now, and those whose time passed too long ago to send late:
    both are handled from now on."""
    send: list[Message] = []
    skipped: list[Planned] = []
    for planned in timed(appointment, policy):
        if planned.key in handled or planned.due > now:
            continue
        if is_too_late(planned, now):
            skipped.append(planned)
            continue
        message = notification(
            planned.kind, appointment, policy, key=planned.key, template=planned.template, due=planned.due
        )
        if message is not None:
            send.append(message)
    return send, skipped


def next_wake(
    appointment: Appointment,
    policy: NotificationPolicy,
    handled: AbstractSet[str],
    end_of_interaction: datetime | None,
) -> tuple[datetime, str] | None:
    """When the workflow must next wake up by itself, and why: the first timed message not yet
    handled, or the end of the interaction; None when nothing is planned."""
    deadlines = [
        (planned.due, f"{planned.kind.value} message")
        for planned in timed(appointment, policy)
        if planned.key not in handled
    ]
    if end_of_interaction is not None:
        deadlines.append((end_of_interaction, "end of interaction"))
    return min(deadlines, default=None)


# What a newer message makes moot, when still unsent: the customer needs the latest schedule, not
# every one, and no reminder of a schedule that has changed or been cancelled.
_REPLACES: dict[NotificationType, frozenset[NotificationType]] = {
    NotificationType.RESCHEDULE: frozenset({NotificationType.RESCHEDULE, NotificationType.REMINDER}),
    NotificationType.CANCELLED: frozenset({NotificationType.RESCHEDULE, NotificationType.REMINDER}),
}


def enqueue(outbox: tuple[Message, ...], message: Message) -> tuple[Message, ...]:
    """The outbox with `message` at its end, keeping at most one message per thing to tell.

    A RESCHEDULE or a cancellation replaces the reschedules and reminders not yet sent; so the
    outbox holds at most the CREATE, one RESCHEDULE, the reminders of the current schedule, the
    cancellation and the follow-up, whatever the number of changes (and a message's content is read
    at its version or later: the latest).
    """
    replaced = _REPLACES.get(message.type, frozenset())
    return (*(m for m in outbox if m.type not in replaced), message)


def relevant_keys(
    handled: frozenset[str], appointment: Appointment, policy: NotificationPolicy
) -> frozenset[str]:
    """The handled keys that still mean something: those of the timed messages of the current
    schedule, and the CREATE. Keys of past schedules can never be planned again (their start is in
    them), so dropping them keeps the set as small as the templates, however long the appointment
    lives."""
    planned = {p.key for p in timed(appointment, policy)}
    return frozenset(key for key in handled if key in planned or key.endswith(":CREATE"))
