"""Notification settings of an application and the messages an appointment sends.

An appointment takes a snapshot of its application's settings when it is scheduled
(`NotificationPolicy`), so a later change of settings never alters what an existing
appointment promised its customer.
"""

from datetime import datetime, timedelta
from email.headerregistry import Address
from enum import StrEnum
from typing import Annotated

import msgspec

from domain.email_address import domain_of
from domain.fields import Email, Locale, MessageBody, ShortText, Subject
from domain.model import Appointment, Base

# Templates an application may hold.
MAX_TEMPLATES = 50


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
    subject: Subject
    text_body: MessageBody
    channel: Channel = Channel.EMAIL
    locale: Locale | None = None
    html_body: MessageBody | None = None
    period: Annotated[
        timedelta | None,
        msgspec.Meta(description="ISO 8601 duration: REMINDER before the start, FOLLOW_UP after the end"),
    ] = None


class ApplicationSettings(Base):
    """What an application's admin configures (PUT /api/applications/{id}/settings)."""

    auto_activate: bool = False
    notifications_active: bool = False
    customer_self_scheduling: Annotated[
        bool,
        msgspec.Meta(description="Customers may ask for one-time passwords and schedule themselves (/basic)"),
    ] = False
    room_base_url: ShortText | None = None
    # A plain address, used only while it is the verified one or of its domain (`sender`).
    mail_from: Annotated[
        Email | None,
        msgspec.Meta(
            description="Sender of the application's email: its verified address, or one of its domain"
        ),
    ] = None
    mail_from_name: Annotated[
        ShortText | None, msgspec.Meta(description="Display name of the sender", examples=["Acme Support"])
    ] = None
    templates: Annotated[tuple[Template, ...], msgspec.Meta(max_length=MAX_TEMPLATES)] = ()

    def sender(self, verified_email: str | None) -> str | None:
        """The From header of the application's email, or None for the service's own sender.

        An application sends as `mail_from` only while that address is the one it verified or
        shares its domain: a tenant cannot send as somebody else's address.
        """
        if self.mail_from is None or not may_send_as(self.mail_from, verified_email):
            return None
        if not self.mail_from_name:
            return self.mail_from
        return str(Address(display_name=self.mail_from_name, addr_spec=self.mail_from))


def may_send_as(address: str, verified_email: str | None) -> bool:
    return verified_email is not None and domain_of(address) == domain_of(verified_email)


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


class Message(Base):
    """One message to send: what, under which key, for which version of the appointment.

    `key` is unique per (appointment, notification, version): the sending activity records it,
    so a retried or replayed send never mails twice. The appointment itself is not carried: the
    sending activity reads it from the read model, at `version` or later, so that no queue of
    messages holds copies of it.
    """

    key: str
    type: NotificationType
    template: Template
    mail_from: str | None = None
    due: datetime | None = None
    version: int = 0


class Notification(Message, kw_only=True):
    """A message with the appointment it is about, as runs started before the bounded state
    sent them (workflows.legacy, `send_notification`)."""

    appointment: Appointment


class DeliveryResult(Base):
    key: str
    recipients: int
    # SENT, ALREADY_SENT, NO_RECIPIENTS or REJECTED (not sent to some recipient and never retried:
    # refused by the server for good, or impossible to compose; notification_log says which).
    outcome: str
    error: str | None = None
