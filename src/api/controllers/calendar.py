"""`/api/cal/events`: an appointment as a calendar event, for links in emails (no auth).

Appointment ids are random UUIDs: knowing one is what grants this view. The download
carries the event only, without attendees, so no customer's address leaves through it.
"""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect
from litestar.status_codes import HTTP_302_FOUND

from domain import calendar, values
from domain.errors import not_found
from domain.model import Appointment, Status
from storage.appointments import AppointmentStore

ICS_MEDIA_TYPE = "text/calendar; charset=utf-8"


async def _appointment(store: AppointmentStore, raw_id: str) -> Appointment:
    appointment = await store.get(values.parse_uuid("id", raw_id))
    if appointment is None or not appointment.status.is_visible:
        raise not_found()
    return appointment


def _room_url(appointment: Appointment) -> str | None:
    """The room link only while the room is open."""
    if appointment.status is Status.ACTIVATED and appointment.room_access is not None:
        return appointment.room_access.url
    return None


class CalendarController(Controller):
    path = "/api/cal/events"
    tags = ["Events"]

    @get(
        "/google/{appointment_id:str}/event",
        exclude_from_auth=True,
        security=[],
        status_code=HTTP_302_FOUND,
        summary="Get the Google Calendar event URL of an appointment (302)",
    )
    async def google(
        self, appointment_id: FromPath[str], store: NamedDependency[AppointmentStore]
    ) -> Redirect:
        appointment = await _appointment(store, appointment_id)
        details = calendar.event_description(appointment, _room_url(appointment))
        return Redirect(
            calendar.google_calendar_url(appointment, details),
            status_code=HTTP_302_FOUND,
            headers={"Cache-Control": "no-store"},
        )

    @get(
        "/ical/{appointment_id:str}/event",
        exclude_from_auth=True,
        security=[],
        media_type=ICS_MEDIA_TYPE,
        summary="Get the appointment's event in iCalendar format",
    )
    async def ical(
        self, appointment_id: FromPath[str], store: NamedDependency[AppointmentStore]
    ) -> Response[bytes]:
        appointment = await _appointment(store, appointment_id)
        room_url = _room_url(appointment)
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
            headers={
                "Content-Disposition": 'inline; filename="appointment.ics"',
                "Cache-Control": "no-store",
            },
        )
