"""`/api/cal/events`: an appointment as a calendar event, for links in emails (no auth).

Appointment ids are random UUIDs: knowing one is what grants this view. The download carries
the event only, without attendees, so no customer's address leaves through it, and without
the room's URL (a credential to the call) unless the request carries the appointment's calendar
key, which only the links mailed to its participants hold (docs/security.md).
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Response, get
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Redirect
from litestar.status_codes import HTTP_302_FOUND

from api.parameters import AppointmentId
from api.rate_limiting import PerClient
from domain import calendar, values
from domain.errors import not_found
from domain.keys import ServiceKeys
from domain.model import Appointment, Status
from domain.rate_limits import PUBLIC_READS
from mail.compose import CALENDAR_KEY_PARAMETER
from storage.appointments import AppointmentStore

# Litestar names the charset of every text/* answer itself: naming it here too would name it twice.
ICS_MEDIA_TYPE = "text/calendar"
# The link may carry a key: it is neither cached nor passed on to the pages it leads to.
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
CalendarKey = Annotated[
    str | None,
    QueryParameter(
        name=CALENDAR_KEY_PARAMETER,
        description="The key of the calendar links mailed to participants: adds the room's URL once open",
    ),
]


async def _appointment(store: AppointmentStore, raw_id: str) -> Appointment:
    appointment = await store.get(values.parse_uuid("id", raw_id))
    if appointment is None or not appointment.status.is_visible:
        raise not_found()
    return appointment


def _room_url(appointment: Appointment, keys: ServiceKeys, key: str | None) -> str | None:
    """The room link only while the room is open, and only for a holder of the calendar key."""
    if appointment.status is not Status.ACTIVATED or appointment.room_access is None:
        return None
    if not keys.is_calendar_token(appointment.id, key):
        return None
    return appointment.room_access.url


class CalendarController(Controller):
    path = "/api/cal/events"
    tags = ["Events"]
    guards = [PerClient(PUBLIC_READS)]

    @get(
        "/google/{id:str}/event",
        exclude_from_auth=True,
        security=[],
        status_code=HTTP_302_FOUND,
        summary="Get the Google Calendar event URL of an appointment (302)",
        response_description="A redirect to Google Calendar's page for adding the event",
        response_headers=[
            ResponseHeader(
                name="location",
                value="https://calendar.google.com/calendar/render?action=TEMPLATE",
                description="Google Calendar's URL adding the appointment as an event",
                required=True,
                documentation_only=True,
            )
        ],
    )
    async def get_google_calendar_event(
        self,
        id: AppointmentId,
        store: NamedDependency[AppointmentStore],
        keys: NamedDependency[ServiceKeys],
        key: CalendarKey = None,
    ) -> Redirect:
        appointment = await _appointment(store, id)
        details = calendar.event_description(appointment, _room_url(appointment, keys, key))
        return Redirect(
            calendar.google_calendar_url(appointment, details), status_code=HTTP_302_FOUND, headers=_PRIVATE
        )

    @get(
        "/ical/{id:str}/event",
        exclude_from_auth=True,
        security=[],
        media_type=ICS_MEDIA_TYPE,
        summary="Get the appointment's event in iCalendar format",
        response_description="The event as an iCalendar (RFC 5545) file",
    )
    async def get_ical_event(
        self,
        id: AppointmentId,
        store: NamedDependency[AppointmentStore],
        keys: NamedDependency[ServiceKeys],
        key: CalendarKey = None,
    ) -> Response[bytes]:
        appointment = await _appointment(store, id)
        room_url = _room_url(appointment, keys, key)
        body = calendar.ics(
            # The event without attendees: this download is public.
            msgspec.structs.replace(appointment, participants=()),
            method="PUBLISH",
            organizer_email=None,
            description=calendar.event_description(appointment, room_url),
            url=room_url,
        )
        return Response(
            body,
            media_type=ICS_MEDIA_TYPE,
            headers={"Content-Disposition": 'inline; filename="appointment.ics"', **_PRIVATE},
        )
