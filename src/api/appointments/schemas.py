"""The bodies of the appointment writes, named as in the contract.

Timestamps, durations, time zones and locales arrive as strings and are parsed by the domain's
value parsers (`domain.values`), so that a bad value is a 400 naming its field, and the
contract's own quoted examples (`"\\"PT5M\\""`, `"\\"Product installation review\\""`) are
read as the values they quote.
"""

from __future__ import annotations

from typing import Any

from msgspec import UNSET, UnsetType

from domain import values
from domain.access import Principal
from domain.fields import AppointmentDuration, AppointmentId, Id, Locale, Request, Text, Timestamp, TimeZone
from domain.lifecycle import CustomerDetails, NewAppointment, Reschedule, UpdateDetails
from domain.model import Interaction


class ScheduleAppointmentRequest(Request):
    start: Timestamp
    duration: AppointmentDuration
    timezone: TimeZone
    application_id: Id | None = None
    locale: Locale | None = None
    title: Text | None = None
    notes: Text | None = None
    metadata: dict[str, Any] = {}
    customer: CustomerDetails | None = None
    interaction: Interaction | None = None

    def to_domain(self, application_id: str) -> NewAppointment:
        interaction = self.interaction
        return NewAppointment(
            application_id=application_id,
            start=values.parse_timestamp("start", self.start),
            duration=values.parse_duration_field("duration", self.duration),
            timezone=values.parse_timezone("timezone", self.timezone),
            locale=values.optional(values.parse_locale, "locale", self.locale),
            title=values.optional(values.parse_text, "title", self.title),
            notes=values.optional(values.parse_multiline_text, "notes", self.notes),
            metadata=self.metadata,
            customer=None if self.customer is None else self.customer.checked("customer"),
            interaction=Interaction()
            if interaction is None
            else Interaction(routing=interaction.routing, custom_fields=interaction.custom_fields),
        )


class UpdateAppointmentRequest(Request):
    """Absent fields stay as they are; empty ones (`""`, `{}`, `null`) are cleared."""

    id: AppointmentId
    title: Text | UnsetType | None = UNSET
    notes: Text | UnsetType | None = UNSET
    metadata: dict[str, Any] | UnsetType | None = UNSET

    def to_domain(self, principal: Principal) -> UpdateDetails:
        return UpdateDetails(
            actor=principal,
            title=values.optional(values.parse_text, "title", self.title),
            notes=values.optional(values.parse_multiline_text, "notes", self.notes),
            metadata=self.metadata,
        )


class RescheduleAppointmentRequest(Request):
    id: AppointmentId
    start: Timestamp
    duration: AppointmentDuration
    timezone: TimeZone
    locale: Locale | UnsetType | None = UNSET

    def to_domain(self, principal: Principal) -> Reschedule:
        return Reschedule(
            actor=principal,
            start=values.parse_timestamp("start", self.start),
            duration=values.parse_duration_field("duration", self.duration),
            timezone=values.parse_timezone("timezone", self.timezone),
            locale=values.optional(values.parse_locale, "locale", self.locale),
        )
