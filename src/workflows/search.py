"""Search attributes that let operators find an appointment in Temporal UI.

Ids, status and start only: no personal data leaves the encrypted payloads.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from domain.model import Appointment

APPLICATION_ID = SearchAttributeKey.for_keyword("ApplicationId")
ORGANIZER_ID = SearchAttributeKey.for_keyword("OrganizerId")
APPOINTMENT_STATUS = SearchAttributeKey.for_keyword("AppointmentStatus")
APPOINTMENT_START = SearchAttributeKey.for_datetime("AppointmentStart")

ALL_KEYS = (APPLICATION_ID, ORGANIZER_ID, APPOINTMENT_STATUS, APPOINTMENT_START)


def search_attributes(appointment: Appointment) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(APPLICATION_ID, appointment.application_id),
            SearchAttributePair(ORGANIZER_ID, appointment.organizer.id),
            SearchAttributePair(APPOINTMENT_STATUS, appointment.status.value),
            SearchAttributePair(APPOINTMENT_START, appointment.start),
        ]
    )
