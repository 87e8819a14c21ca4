"""Notifications end to end over HTTP: an admin configures and verifies the email service,
then scheduling, rescheduling and deleting mail the customer, and a reminder arrives on
time from the real Temporal dev server."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from icalendar import Calendar

from devstack.smtp_sink import SmtpSink, StoredMessage
from domain.access import Role
from tests.api.conftest import Stack, TokenFactory
from tests.support.applications import verify_email
from tests.support.requests import iso, schedule_body

TEMPLATES = [
    {
        "type": "CREATE",
        "channel": "EMAIL",
        "subject": "Booked {{title}}",
        "textBody": "Dear {{firstName}}: {{roomUrl}}",
    },
    {
        "type": "RESCHEDULE",
        "channel": "EMAIL",
        "subject": "Moved {{title}}",
        "textBody": "{{dd-MM-yyyy}} {{time24}}",
    },
    {"type": "CANCELLED", "channel": "EMAIL", "subject": "Cancelled {{title}}", "textBody": "Sorry"},
    {
        "type": "REMINDER",
        "channel": "EMAIL",
        "subject": "Soon {{title}}",
        "textBody": "{{time24}}",
        "period": "PT1M",
    },
]


async def _configure(
    http: httpx.AsyncClient,
    mail: SmtpSink,
    auth: TokenFactory,
    application_id: str,
    *,
    auto_activate: bool = False,
) -> None:
    admin = auth(Role.ADMIN)
    await verify_email(http, mail, admin, application_id, f"admin-{uuid.uuid4().hex[:8]}@example.test")
    settings = {
        "autoActivate": auto_activate,
        "notificationsActive": True,
        "mailFrom": "cc@example.test",
        "mailFromName": "Contact Center",
        "roomBaseUrl": "https://video.example.test",
        "templates": TEMPLATES,
    }
    put = await http.put(f"/api/applications/{application_id}/settings", json=settings, headers=admin)
    assert put.status_code == 200, put.text


def _about(appointment_id: str, prefix: str):
    def matches(message: StoredMessage) -> bool:
        return message.message["X-Appointment-Id"] == appointment_id and message.subject.startswith(prefix)

    return matches


def _invite(message: StoredMessage) -> Calendar:
    part = next(p for p in message.message.walk() if p.get_content_type() == "text/calendar")
    return Calendar.from_ical(part.get_content())


async def test_lifecycle_emails_carry_one_calendar_event(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str
) -> None:
    await _configure(http, stack.mail, auth, application_id)
    agent = auth(Role.AGENT)
    email = f"customer-{uuid.uuid4().hex[:8]}@example.test"
    body = schedule_body()
    body["customer"]["contact"]["primaryEmail"] = email
    created = (await http.post("/api/appointments", json=body, headers=agent)).json()
    assert created["notificationsActive"] is True

    booked = (await stack.mail.wait_for_messages(_about(created["id"], "Booked")))[0]
    assert booked.message["To"] == email and "cc@example.test" in booked.message["From"]
    assert booked.message.get_body(("plain",)).get_content().startswith("Dear Bobby")
    uid = str(_invite(booked).walk("VEVENT")[0]["UID"])

    later = datetime.now(UTC).replace(microsecond=0) + timedelta(days=6)
    moved = await http.put(
        "/api/appointments/reschedule",
        json={"id": created["id"], "start": iso(later), "duration": "PT20M", "timezone": "Europe/Berlin"},
        headers=agent,
    )
    assert moved.status_code == 200
    rescheduled = (await stack.mail.wait_for_messages(_about(created["id"], "Moved")))[0]
    event = _invite(rescheduled).walk("VEVENT")[0]
    assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == 1

    assert (await http.delete(f"/api/appointments/{created['id']}", headers=agent)).status_code == 204
    cancelled = (await stack.mail.wait_for_messages(_about(created["id"], "Cancelled")))[0]
    invite = _invite(cancelled)
    assert invite["METHOD"] == "CANCEL" and str(invite.walk("VEVENT")[0]["UID"]) == uid
    sent = [m for m in stack.mail.messages() if m.message["X-Appointment-Id"] == created["id"]]
    assert sorted(m.subject.split()[0] for m in sent) == ["Booked", "Cancelled", "Moved"]


async def test_auto_activate_answers_with_the_room(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str
) -> None:
    await _configure(http, stack.mail, auth, application_id, auto_activate=True)
    created = await http.post("/api/appointments", json=schedule_body(), headers=auth(Role.AGENT))
    assert created.status_code == 200, created.text
    appointment = created.json()
    assert appointment["status"] == "ACTIVATED"
    assert appointment["roomAccess"]["url"].startswith("https://video.example.test/q/")
    booked = (await stack.mail.wait_for_messages(_about(appointment["id"], "Booked")))[0]
    assert appointment["roomAccess"]["url"] in booked.message.get_body(("plain",)).get_content()


async def test_unverified_applications_send_nothing(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str
) -> None:
    settings = {"notificationsActive": True, "templates": TEMPLATES}
    admin = auth(Role.ADMIN)
    assert (
        await http.put(f"/api/applications/{application_id}/settings", json=settings, headers=admin)
    ).is_success
    created = (await http.post("/api/appointments", json=schedule_body(), headers=auth(Role.AGENT))).json()
    assert created["notificationsActive"] is False


async def test_a_reminder_arrives_within_seconds_of_its_time(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str
) -> None:
    await _configure(http, stack.mail, auth, application_id)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=68)
    created = (
        await http.post("/api/appointments", json=schedule_body(start=start), headers=auth(Role.AGENT))
    ).json()
    due = start - timedelta(minutes=1)
    reminder = (await stack.mail.wait_for_messages(_about(created["id"], "Soon"), timeout=30))[0]
    arrived = datetime.fromtimestamp(reminder.path.stat().st_mtime, UTC)
    assert timedelta(0) <= arrived - due < timedelta(seconds=5), (due, arrived)
    assert time.time() < start.timestamp()
