"""Notification settings of an application and the messages an appointment sends.

An appointment takes a snapshot of its application's settings when it is scheduled
(`NotificationPolicy`), so a later change of settings never alters what an existing
appointment promised its customer.
"""

from datetime import datetime, timedelta
from enum import StrEnum

from domain.model import Appointment, Base


class NotificationType(StrEnum):
    CREATE = "CREATE"
    RESCHEDULE = "RESCHEDULE"
    CANCELLED = "CANCELLED"
    REMINDER = "REMINDER"
    FOLLOW_UP = "FOLLOW_UP"


class Channel(StrEnum):
    EMAIL = "EMAIL"


class Template(Base):
    type: NotificationType
    subject: str
    text_body: str
    channel: Channel = Channel.EMAIL
    locale: str | None = None
    html_body: str | None = None
    # REMINDER: how long before the start; FOLLOW_UP: how long after the end (default: at the end).
    period: timedelta | None = None


class ApplicationSettings(Base):
    """What an application's admin configures (PUT /api/applications/{id}/settings)."""

    auto_activate: bool = False
    notifications_active: bool = False
    room_base_url: str | None = None
    mail_from: str | None = None
    templates: tuple[Template, ...] = ()


class NotificationPolicy(Base):
    """The settings snapshot an appointment is scheduled with."""

    # True only when the application's notifications are on and its email service verified.
    active: bool = False
    auto_activate: bool = False
    mail_from: str | None = None
    room_base_url: str | None = None
    templates: tuple[Template, ...] = ()

    def templates_of(self, kind: NotificationType) -> tuple[Template, ...]:
        return tuple(t for t in self.templates if t.type is kind)


class Notification(Base):
    """One message to send: what, about which state of the appointment, under which key.

    `key` is unique per (appointment, notification, version): the sending activity records
    it, so a retried or replayed send never mails twice.
    """

    key: str
    type: NotificationType
    appointment: Appointment
    template: Template
    mail_from: str | None = None
    due: datetime | None = None


class DeliveryResult(Base):
    key: str
    recipients: int
    # SENT, ALREADY_SENT, NO_RECIPIENTS or REJECTED (a permanent SMTP refusal, not retried).
    outcome: str
    error: str | None = None
