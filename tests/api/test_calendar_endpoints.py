"""`/api/cal/events`: the Google Calendar link and the iCalendar download, without auth."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import icalendar

from domain.access import Role
from tests.api.conftest import TokenFactory
from tests.support.requests import schedule_body
from tests.support.secrets import SERVICE_KEYS


async def _schedule(http: httpx.AsyncClient, auth: TokenFactory, **overrides: Any) -> dict[str, Any]:
    response = await http.post(
        "/api/appointments/", json=schedule_body(**overrides), headers=auth(Role.AGENT)
    )
    assert response.status_code == 200, response.text
    return response.json()


def _google_time(value: str) -> str:
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


async def test_google_redirects_to_an_event_template(http: httpx.AsyncClient, auth: TokenFactory) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=4)
    created = await _schedule(http, auth, start=start, timezone="America/New_York", duration="PT45M")

    response = await http.get(f"/api/cal/events/google/{created['id']}/event")
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    url = urlsplit(location)
    assert (url.scheme, url.netloc) == ("https", "calendar.google.com")
    query = parse_qs(url.query)
    assert query["action"] == ["TEMPLATE"]
    assert query["text"] == ["Product installation review"]
    assert query["dates"] == [f"{_google_time(created['start'])}/{_google_time(created['end'])}"]
    assert f"dates={_google_time(created['start'])}/" in location
    assert query["ctz"] == ["America/New_York"]
    # Not activated: no room link in the details.
    assert "https://rooms.example.test" not in query["details"][0]


async def test_the_room_is_only_in_the_links_mailed_to_participants(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    """The room's URL is a credential to the call: an id alone, which anyone may hold, does not
    reveal it; the calendar key of the mailed links does (docs/security.md)."""
    created = await _schedule(http, auth)
    activated = await http.post(
        f"/api/appointments/activate/{created['id']}", headers=auth(Role.CLIENT_SERVICE)
    )
    assert activated.status_code == 200, activated.text
    room = activated.json()["url"]
    key = SERVICE_KEYS.calendar_token(created["id"])

    for query, shown in (
        ("", False),
        ("?key=wrong", False),
        (f"?key={SERVICE_KEYS.calendar_token('x')}", False),
        (f"?key={key}", True),
    ):
        google = await http.get(f"/api/cal/events/google/{created['id']}/event{query}")
        assert google.status_code == 302
        assert (room in parse_qs(urlsplit(google.headers["location"]).query)["details"][0]) is shown, query
        assert google.headers["referrer-policy"] == "no-referrer"
        ical = await http.get(f"/api/cal/events/ical/{created['id']}/event{query}")
        event = icalendar.Calendar.from_ical(ical.content).walk("VEVENT")[0]
        assert (str(event.get("url", "")) == room) is shown, query
        assert (room in str(event["description"])) is shown, query
        assert ical.headers["cache-control"] == "no-store"


async def test_ical_is_the_appointments_event(http: httpx.AsyncClient, auth: TokenFactory) -> None:
    created = await _schedule(http, auth, duration='"PT30M"')

    response = await http.get(f"/api/cal/events/ical/{created['id']}/event")
    assert response.status_code == 200, response.text
    # The charset named once.
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert "appointment.ics" in response.headers["content-disposition"]

    calendar = icalendar.Calendar.from_ical(response.content)
    assert str(calendar["method"]) == "PUBLISH"
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    event = events[0]
    assert str(event["uid"]) == f"{created['id']}@appointments"
    assert str(event["summary"]) == "Product installation review"
    assert event.decoded("dtstart") == datetime.fromisoformat(created["start"])
    assert event.decoded("dtend") == datetime.fromisoformat(created["end"])
    # The download is public: it names no customer.
    assert "attendee" not in event
    assert b"user@provider.net" not in response.content

    # A reschedule keeps the UID and raises the SEQUENCE.
    later = datetime.fromisoformat(created["start"]) + timedelta(hours=2)
    moved = await http.put(
        "/api/appointments/reschedule",
        json={"id": created["id"], "start": later.isoformat(), "duration": "PT30M", "timezone": "UTC"},
        headers=auth(Role.AGENT, sub=created["organizer"]["id"]),
    )
    assert moved.status_code == 200, moved.text
    again = icalendar.Calendar.from_ical(
        (await http.get(f"/api/cal/events/ical/{created['id']}/event")).content
    ).walk("VEVENT")[0]
    assert str(again["uid"]) == str(event["uid"])
    assert int(again["sequence"]) > int(event.get("sequence", 0))
    assert again.decoded("dtstart") == later


async def test_unknown_deleted_and_malformed_ids(http: httpx.AsyncClient, auth: TokenFactory) -> None:
    for kind in ("google", "ical"):
        missing = await http.get(f"/api/cal/events/{kind}/{uuid.uuid4()}/event")
        assert missing.status_code == 404 and missing.json()["status"] == 404
        malformed = await http.get(f"/api/cal/events/{kind}/not-a-uuid/event")
        assert malformed.status_code == 400 and malformed.json()["field"] == "id"

    created = await _schedule(http, auth)
    deleted = await http.delete(
        f"/api/appointments/{created['id']}", headers=auth(Role.AGENT, sub=created["organizer"]["id"])
    )
    assert deleted.status_code == 204
    for kind in ("google", "ical"):
        assert (await http.get(f"/api/cal/events/{kind}/{created['id']}/event")).status_code == 404
