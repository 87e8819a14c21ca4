"""Webhook subscriptions and the events an appointment's workflow delivers to them."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.model import Appointment, Base


class EventType(StrEnum):
    APPOINTMENT_CREATED = "APPOINTMENT_CREATED"
    APPOINTMENT_UPDATED = "APPOINTMENT_UPDATED"
    APPOINTMENT_RESCHEDULED = "APPOINTMENT_RESCHEDULED"
    APPOINTMENT_REASSIGNED = "APPOINTMENT_REASSIGNED"
    PARTICIPANT_ADDED = "PARTICIPANT_ADDED"
    PARTICIPANT_REMOVED = "PARTICIPANT_REMOVED"
    APPOINTMENT_ACTIVATED = "APPOINTMENT_ACTIVATED"
    APPOINTMENT_ENDED = "APPOINTMENT_ENDED"
    APPOINTMENT_CANCELLED = "APPOINTMENT_CANCELLED"
    REMINDER_SENT = "REMINDER_SENT"


ALL_EVENTS = "*"

# A stable namespace: the same (appointment, version, type) always has the same event id.
_EVENT_NAMESPACE = uuid.UUID("6f1c2f1e-8a53-4c1b-9f0e-5a7d2b9c4e10")


def event_id(appointment_id: str, version: int, kind: EventType, detail: str = "") -> str:
    """Receivers deduplicate on this id; it is the same on every retry."""
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"{appointment_id}:{version}:{kind.value}:{detail}"))


class Webhook(Base):
    """A subscription, without its secret (which is only read when signing)."""

    id: str
    application_id: str
    url: str
    events: tuple[str, ...]
    created_at: datetime
    headers: dict[str, str] = {}
    enabled: bool = True
    disabled_reason: str | None = None

    def wants(self, kind: EventType) -> bool:
        return ALL_EVENTS in self.events or kind.value in self.events


class WebhookEvent(Base):
    """The body of a delivery: `payload` is the appointment as the API returns it."""

    id: str
    type: EventType
    timestamp: datetime
    application_id: str
    appointment_id: str
    version: int
    payload: dict[str, Any]


class AppointmentEvent(Base):
    """A change the workflow announces; the appointment travels so the body shows that version."""

    id: str
    type: EventType
    timestamp: datetime
    appointment: Appointment


class WebhookDelivery(Base):
    """One event for one subscription, as the workflow hands it to the delivery activity."""

    webhook_id: str
    event: AppointmentEvent


class MatchRequest(Base):
    application_id: str
    type: EventType


class DeliveryAttempt(Base):
    """One attempt to deliver an event to a subscription, as the delivery log lists it.

    `statusCode` is the receiver's answer; `error` says why there was none (timeout, refused
    connection, ...) or why the answer stopped the retries.
    """

    event_id: str
    type: str
    appointment_id: str
    version: int
    attempt: int
    attempted_at: datetime
    status_code: int | None = None
    error: str | None = None
    duration_ms: int | None = None
