"""The appointment as a calendar event: an iCalendar VEVENT and a Google Calendar link.

One UID for the appointment's whole life lets calendar clients update or remove the event
they already hold instead of adding a second one; SEQUENCE tells them which version wins.
Times are written in UTC, so no VTIMEZONE is needed and no client can misread an offset.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote, urlencode

import icalendar

from domain.model import Appointment, ParticipantType
from domain.rendering import human_duration, local_start, zone_label

PRODID = "-//appointments//EN"
METHODS = frozenset({"REQUEST", "CANCEL", "PUBLISH"})
DEFAULT_SUMMARY = "Video appointment"
GOOGLE_CALENDAR = "https://calendar.google.com/calendar/render"


def event_uid(appointment: Appointment) -> str:
    return f"{appointment.id}@appointments"


def summary(appointment: Appointment) -> str:
    return appointment.title or DEFAULT_SUMMARY


def ics(
    appointment: Appointment,
    *,
    method: str,
    organizer_email: str | None,
    description: str = "",
    url: str | None = None,
) -> bytes:
    """A VCALENDAR with the appointment's single VEVENT.

    `method` is REQUEST for invitations and updates, CANCEL when the appointment is
    deleted, PUBLISH for a plain download. `url` is the room link, to be passed only while
    the room is activated.
    """
    method = method.upper()
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(sorted(METHODS))}, not {method!r}")

    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)

    event = icalendar.Event()
    event.add("uid", event_uid(appointment))
    event.add("sequence", appointment.sequence)
    # DTSTAMP is when this version of the event came to be, not when the file was written:
    # the same appointment version then always yields the same bytes.
    event.add("dtstamp", _utc(appointment.updated_at))
    event.add("created", _utc(appointment.created_at))
    event.add("last-modified", _utc(appointment.updated_at))
    event.add("dtstart", _utc(appointment.start))
    event.add("dtend", _utc(appointment.end))
    event.add("summary", summary(appointment))
    if description:
        event.add("description", description)
    if url:
        event.add("url", url)
        event.add("location", url)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    if organizer_email:
        event.add("organizer", icalendar.vCalAddress(f"mailto:{organizer_email}"))
    for participant in appointment.participants:
        email = participant.contact.primary_email if participant.contact else None
        if participant.type is not ParticipantType.CUSTOMER or not email:
            continue
        attendee = icalendar.vCalAddress(f"mailto:{email}")
        name = participant.name
        full_name = " ".join(part for part in (name.first_name, name.last_name) if part) if name else ""
        if full_name:
            attendee.params["CN"] = full_name
        attendee.params["CUTYPE"] = "INDIVIDUAL"
        attendee.params["ROLE"] = "REQ-PARTICIPANT"
        # The appointment is agreed with the contact center: no reply is expected.
        attendee.params["RSVP"] = "FALSE"
        event.add("attendee", attendee)

    calendar.add_component(event)
    return calendar.to_ical()


def google_dates(appointment: Appointment) -> str:
    return f"{_google_time(appointment.start)}/{_google_time(appointment.end)}"


def google_calendar_url(appointment: Appointment, details: str) -> str:
    """A Google Calendar "add event" link; `ctz` makes Google show it in the appointment's zone."""
    query = urlencode(
        {
            "action": "TEMPLATE",
            "text": summary(appointment),
            "dates": google_dates(appointment),
            "details": details,
            "ctz": appointment.timezone,
        },
        # "/" is legal in a query; keeping it literal leaves `dates=start/end` readable as documented.
        safe="/",
        quote_via=quote,
    )
    return f"{GOOGLE_CALENDAR}?{query}"


def event_description(appointment: Appointment, room_url: str | None) -> str:
    """Plain text for DESCRIPTION and Google's `details`; the room link only while it is active."""
    start = local_start(appointment)
    lines = [
        summary(appointment),
        f"{start:%d-%m-%Y %H:%M} {zone_label(start)} ({appointment.timezone}), "
        f"{human_duration(appointment.duration)}",
    ]
    if room_url:
        lines.append(f"Join the video call: {room_url}")
    return "\n".join(lines)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _google_time(value: datetime) -> str:
    return _utc(value).strftime("%Y%m%dT%H%M%SZ")
