"""Calendar events: the .ics attached to every lifecycle email and the Google Calendar link.

Every .ics is parsed back with icalendar, as a mail client would, rather than compared as text.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import icalendar
import msgspec
import pytest

from domain.calendar import event_description, google_calendar_url, ics
from domain.model import Appointment, Contact, Name, Participant, ParticipantType
from tests.support.factories import new_appointment, principal

NOW = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)
START = datetime(2030, 1, 31, 18, 5, tzinfo=UTC)
ROOM = "https://rooms.example.test/r/abc"


def _appointment(**changes: Any) -> Appointment:
    appointment = new_appointment(principal(), start=START, duration=timedelta(minutes=30), now=NOW)
    return msgspec.structs.replace(appointment, **changes)


def _parse(data: bytes) -> tuple[icalendar.Calendar, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(data)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def _attendees(event: icalendar.Event) -> list[Any]:
    value = event.get("ATTENDEE")
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


# --- ics -----------------------------------------------------------------------------------


def test_request_carries_the_event() -> None:
    appointment = _appointment(sequence=2, updated_at=NOW + timedelta(hours=3))
    data = ics(
        appointment,
        method="REQUEST",
        organizer_email="agents@example.test",
        description="Bring the serial number",
        url=ROOM,
    )
    calendar, event = _parse(data)
    assert str(calendar["PRODID"]) == "-//appointments//EN"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == f"{appointment.id}@appointments"
    assert event.decoded("SEQUENCE") == 2
    assert event.decoded("DTSTAMP") == NOW + timedelta(hours=3)
    assert event.decoded("DTSTART") == START
    assert event.decoded("DTEND") == START + timedelta(minutes=30)
    assert str(event["SUMMARY"]) == "Product installation review"
    assert str(event["DESCRIPTION"]) == "Bring the serial number"
    assert str(event["URL"]) == ROOM
    assert str(event["LOCATION"]) == ROOM
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["ORGANIZER"]) == "mailto:agents@example.test"


def test_times_are_written_in_utc() -> None:
    # A start held with another offset is still written as UTC with a Z, without VTIMEZONE.
    berlin_start = START.astimezone(ZoneInfo("Europe/Berlin"))
    data = ics(_appointment(start=berlin_start), method="PUBLISH", organizer_email=None)
    _, event = _parse(data)
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert event.decoded("DTSTART") == START
    assert b"DTSTART:20300131T180500Z\r\n" in data
    assert b"DTEND:20300131T183500Z\r\n" in data
    assert b"VTIMEZONE" not in data


def test_attendees_are_the_customers_with_an_email() -> None:
    base = _appointment()
    second = Participant(
        id="c-2",
        type=ParticipantType.CUSTOMER,
        name=Name(first_name="Pam"),
        contact=Contact(primary_email="pam@example.test"),
    )
    no_email = Participant(id="c-3", type=ParticipantType.CUSTOMER, name=Name(first_name="Ray"))
    agent = Participant(
        id="agent-2", type=ParticipantType.AGENT, contact=Contact(primary_email="agent@example.test")
    )
    appointment = msgspec.structs.replace(base, participants=(*base.participants, second, no_email, agent))
    _, event = _parse(ics(appointment, method="REQUEST", organizer_email="agents@example.test"))
    attendees = {str(a): a.params for a in _attendees(event)}
    assert set(attendees) == {"mailto:bobby@example.test", "mailto:pam@example.test"}
    assert attendees["mailto:bobby@example.test"]["CN"] == "Bobby Ewing"
    assert attendees["mailto:pam@example.test"]["CN"] == "Pam"


def test_an_appointment_without_customer_email_has_no_attendee() -> None:
    base = _appointment()
    participants = tuple(msgspec.structs.replace(p, contact=None) for p in base.participants)
    _, event = _parse(
        ics(msgspec.structs.replace(base, participants=participants), method="PUBLISH", organizer_email=None)
    )
    assert _attendees(event) == []
    assert "ORGANIZER" not in event


def test_optional_parts_are_left_out() -> None:
    _, event = _parse(ics(_appointment(title=None), method="PUBLISH", organizer_email=None))
    assert str(event["SUMMARY"]) == "Video appointment"
    for name in ("DESCRIPTION", "URL", "LOCATION", "ORGANIZER"):
        assert name not in event


def test_uid_stays_and_sequence_follows_a_reschedule() -> None:
    created = _appointment()
    moved = msgspec.structs.replace(
        created, start=START + timedelta(days=1), sequence=created.sequence + 1, version=created.version + 1
    )
    _, first = _parse(ics(created, method="REQUEST", organizer_email=None))
    _, second = _parse(ics(moved, method="REQUEST", organizer_email=None))
    assert str(first["UID"]) == str(second["UID"])
    assert second.decoded("SEQUENCE") == first.decoded("SEQUENCE") + 1
    assert second.decoded("DTSTART") == START + timedelta(days=1)


def test_cancel() -> None:
    appointment = _appointment(sequence=1)
    calendar, event = _parse(ics(appointment, method="CANCEL", organizer_email="agents@example.test"))
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == f"{appointment.id}@appointments"
    assert event.decoded("SEQUENCE") == 1
    assert [str(a) for a in _attendees(event)] == ["mailto:bobby@example.test"]


@pytest.mark.parametrize(("method", "expected"), [("publish", "PUBLISH"), ("Request", "REQUEST")])
def test_method_is_case_insensitive(method: str, expected: str) -> None:
    calendar, event = _parse(ics(_appointment(), method=method, organizer_email=None))
    assert str(calendar["METHOD"]) == expected
    assert str(event["STATUS"]) == "CONFIRMED"


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="REFRESH"):
        ics(_appointment(), method="REFRESH", organizer_email=None)


def test_same_version_gives_the_same_bytes() -> None:
    # Retried sends must attach the very same file.
    appointment = _appointment()
    assert ics(appointment, method="REQUEST", organizer_email=None) == ics(
        appointment, method="REQUEST", organizer_email=None
    )


def test_text_values_are_escaped_and_survive_a_round_trip() -> None:
    title = "Review; part 1, with notes\\and a very long title that needs folding " * 2
    description = "Line one\nLine two; with, punctuation"
    _, event = _parse(
        ics(_appointment(title=title), method="PUBLISH", organizer_email=None, description=description)
    )
    assert str(event["SUMMARY"]) == title
    assert str(event["DESCRIPTION"]) == description


# --- google_calendar_url -------------------------------------------------------------------


def test_google_url_parameters() -> None:
    url = google_calendar_url(_appointment(), "Join: https://rooms.example.test/r/abc")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://calendar.google.com/calendar/render"
    query = parse_qs(parts.query, strict_parsing=True)
    assert query == {
        "action": ["TEMPLATE"],
        "text": ["Product installation review"],
        "dates": ["20300131T180500Z/20300131T183500Z"],
        "details": ["Join: https://rooms.example.test/r/abc"],
        "ctz": ["Europe/Berlin"],
    }
    assert "dates=20300131T180500Z/20300131T183500Z" in parts.query


def test_google_url_encodes_spaces_and_ampersands() -> None:
    appointment = _appointment(title="Tom & Jerry + friends", timezone="America/New_York")
    url = google_calendar_url(appointment, "a=b & c?d#e")
    query = urlsplit(url).query
    # Spaces as %20, not "+", which some decoders keep literally.
    assert "text=Tom%20%26%20Jerry%20%2B%20friends" in query
    assert "details=a%3Db%20%26%20c%3Fd%23e" in query
    assert "#" not in url
    decoded = parse_qs(query)
    assert decoded["text"] == ["Tom & Jerry + friends"]
    assert decoded["details"] == ["a=b & c?d#e"]
    assert decoded["ctz"] == ["America/New_York"]


def test_google_url_dates_are_utc_whatever_the_zone() -> None:
    summer = datetime(2030, 7, 31, 22, 30, tzinfo=UTC)
    appointment = _appointment(start=summer, timezone="America/New_York", duration=timedelta(hours=2))
    query = parse_qs(urlsplit(google_calendar_url(appointment, "")).query, keep_blank_values=True)
    assert query["dates"] == ["20300731T223000Z/20300801T003000Z"]
    assert query["details"] == [""]
    assert query["text"] == ["Product installation review"]


def test_google_url_without_title() -> None:
    query = parse_qs(urlsplit(google_calendar_url(_appointment(title=None), "x")).query)
    assert query["text"] == ["Video appointment"]


# --- event_description ---------------------------------------------------------------------


def test_description_in_local_time_with_the_room_link() -> None:
    text = event_description(_appointment(), ROOM)
    assert "Product installation review" in text
    assert "31-01-2030 19:05 CET (Europe/Berlin)" in text
    assert "30 minutes" in text
    assert ROOM in text


def test_description_without_an_active_room() -> None:
    summer = _appointment(start=datetime(2030, 7, 31, 18, 5, tzinfo=UTC))
    text = event_description(summer, None)
    assert "31-07-2030 20:05 CEST" in text
    assert "http" not in text
