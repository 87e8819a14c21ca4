"""When an appointment sends which message: the pure schedule its workflow follows.

Every message has a key unique per (appointment, notification, version); the workflow
remembers the keys it has handled and the sending activity records the ones delivered, so
neither a replay nor a retry sends twice.
"""

from datetime import datetime, timedelta

import msgspec

from domain.durations import format_duration
from domain.model import Appointment, Status
from domain.notifications import Notification, NotificationPolicy, NotificationType, Template
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
) -> Notification | None:
    """The message of `kind` about this state of the appointment, if the policy sends one."""
    if not policy.active:
        return None
    template = template or choose_template(policy.templates, kind, appointment.locale)
    if template is None:
        return None
    return Notification(
        key=key or f"{appointment.id}:{kind.value}:v{appointment.version}",
        type=kind,
        appointment=appointment,
        template=template,
        mail_from=policy.mail_from,
        due=due,
    )


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
