"""What an operator reads of an appointment's workflow at a glance in Temporal UI.

Temporal's user metadata: a summary given when the workflow starts (the list of workflows shows
it) and current details the workflow keeps up to date (shown on the workflow's page). Neither
holds personal data: no title, name or address, only the schedule, the state and what is owed.
"""

from datetime import UTC, datetime

from domain.durations import format_duration
from domain.model import Appointment


def _moment(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def summary(appointment: Appointment) -> str:
    """`SCHEDULED · 2030-01-31 19:00 UTC · PT30M · Europe/Berlin`, one line."""
    return " · ".join(
        (
            appointment.status.value,
            _moment(appointment.start),
            format_duration(appointment.duration),
            appointment.timezone,
        )
    )


def details(
    appointment: Appointment,
    *,
    next_deadline: datetime | None,
    next_reason: str,
    messages_owed: int,
    webhooks_owed: int,
) -> str:
    """The workflow's current details, in Temporal's markdown."""
    state = f"**{appointment.status.value}** · starts {_moment(appointment.start)}"
    lines = [
        f"{state} · version {appointment.version}",
        f"- next: {next_reason} at {_moment(next_deadline)}" if next_deadline else "- next: nothing, closing",
        f"- messages owed: {messages_owed}",
        f"- webhook deliveries owed: {webhooks_owed}",
    ]
    if appointment.room_access is not None:
        lines.append(f"- room open until {_moment(appointment.room_access.expires)}")
    return "\n".join(lines)
