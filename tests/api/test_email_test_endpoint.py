"""`POST /api/notifications/emails/test`: a template rendered with sample data, really mailed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest

from devstack.smtp_sink import StoredMessage
from domain.access import Role
from tests.api.conftest import Stack, TokenFactory
from tests.support.applications import verify_email

ADMIN = Role.ADMIN
TEST = "/api/notifications/emails/test"


def _email() -> str:
    return f"preview-{uuid.uuid4().hex[:12]}@example.test"


def _contract_body(application_id: str, to_email: str, **overrides: Any) -> dict[str, Any]:
    """The contract's example, quotes and all."""
    body: dict[str, Any] = {
        "applicationId": application_id,
        "channel": "EMAIL",
        "htmlBody": '"<html><body><p>Dear {{firstName}} {{lastName}}</p></body></html>"',
        "locale": "en-GB",
        "period": '"P1D"',
        "subject": '"Video appointment reminder"',
        "textBody": '"Dear {{firstName}},\\n\\nThis is a reminder of your video call scheduled for '
        '{{dd-MM-yyyy}} {{time24}} {{zone}}"',
        "timezone": "Europe/Berlin",
        "toEmail": to_email,
        "type": "REMINDER",
    }
    body.update(overrides)
    return body


def _sample_start(timezone: str) -> datetime:
    """The sample appointment: tomorrow at 10:00 in `timezone`."""
    zone = ZoneInfo(timezone)
    day = datetime.now(UTC).astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(day, time(10, 0), tzinfo=zone)


async def _send(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, body: dict[str, Any]
) -> EmailMessage:
    response = await http.post(TEST, json=body, headers=auth(ADMIN))
    assert response.status_code == 204, response.text

    def to_email(message: StoredMessage) -> bool:
        return body["toEmail"] in message.message["To"]

    return (await stack.mail.wait_for_messages(to_email))[-1].message


def _part(message: EmailMessage, content_type: str) -> str:
    part = message.get_body(preferencelist=(content_type.split("/")[1],))
    assert part is not None and part.get_content_type() == content_type
    # SMTP carries CRLF line ends.
    return part.get_content().replace("\r\n", "\n")


async def test_the_contract_example_is_rendered_and_mailed(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str
) -> None:
    to = _email()
    message = await _send(http, stack, auth, _contract_body(application_id, to))
    start = _sample_start("Europe/Berlin")

    assert message["Subject"] == "Video appointment reminder"
    assert message["To"] == to
    text = _part(message, "text/plain")
    expected_zone = "CEST" if start.dst() else "CET"
    assert text.rstrip("\n") == (
        "Dear Jane,\n\nThis is a reminder of your video call scheduled for "
        f"{start:%d-%m-%Y} 10:00 {expected_zone}"
    )
    assert "{{" not in text
    assert "Dear Jane Doe" in _part(message, "text/html")

    attachments = list(message.iter_attachments())
    assert len(attachments) == 1 and attachments[0].get_content_type() == "text/calendar"
    event = icalendar.Calendar.from_ical(attachments[0].get_content()).walk("VEVENT")[0]
    assert event.decoded("dtstart") == start.astimezone(UTC)


@pytest.mark.parametrize(
    ("timezone", "zones"),
    [
        ("Europe/Berlin", {"CET", "CEST"}),
        ("America/New_York", {"EST", "EDT"}),
        ("Asia/Kolkata", {"IST"}),
        ("America/Sao_Paulo", {"UTC-03:00"}),
        ("UTC", {"UTC"}),
    ],
)
async def test_times_are_written_in_the_given_timezone(
    http: httpx.AsyncClient,
    stack: Stack,
    auth: TokenFactory,
    application_id: str,
    timezone: str,
    zones: set[str],
) -> None:
    body = _contract_body(
        application_id,
        _email(),
        timezone=timezone,
        subject="{{title}} on {{yyyy-MM-dd}}",
        textBody="{{MM-dd-yyyy}} {{time12}} {{zone}} ({{duration}}) {{icalUrl}} {{googleUrl}} {{roomUrl}}",
        htmlBody=None,
    )
    message = await _send(http, stack, auth, body)
    start = _sample_start(timezone)
    assert message["Subject"] == f"Sample appointment on {start:%Y-%m-%d}"
    text = _part(message, "text/plain").strip()
    date, clock, meridiem, zone, rest = text.split(" ", 4)
    assert (date, clock, meridiem) == (f"{start:%m-%d-%Y}", "10:00", "AM")
    assert zone in zones
    if timezone in ("Europe/Berlin", "America/New_York"):
        assert (zone in ("CEST", "EDT")) == bool(start.dst())
    assert rest.startswith("(30 minutes) http")
    # Calendar links point at the API, which redirects to the current schedule (see docs).
    assert "/api/cal/events/ical/" in rest and "/api/cal/events/google/" in rest
    assert "https://rooms.example.test/q/sample" in rest
    # Without an htmlBody the message has no HTML part.
    assert all(part.get_content_type() != "text/html" for part in message.walk())


async def test_the_applications_sender_and_room_are_used(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str
) -> None:
    await verify_email(
        http, stack.mail, auth(ADMIN), application_id, f"admin-{uuid.uuid4().hex[:8]}@acme.test"
    )
    saved = await http.put(
        f"/api/applications/{application_id}/settings",
        json={
            "mailFrom": "support@acme.test",
            "mailFromName": "Acme Support",
            "roomBaseUrl": "https://meet.acme.test",
        },
        headers=auth(ADMIN),
    )
    assert saved.status_code == 200, saved.text
    message = await _send(
        http, stack, auth, _contract_body(application_id, _email(), textBody="Join: {{roomUrl}}")
    )
    assert message["From"] == "Acme Support <support@acme.test>"
    assert "Join: https://meet.acme.test/q/sample" in _part(message, "text/plain")


async def _bad(http: httpx.AsyncClient, auth: TokenFactory, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post(TEST, json=body, headers=auth(ADMIN))
    assert response.status_code == 400, response.text
    return response.json()


async def test_invalid_templates_name_the_request_field(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    to = _email()
    error = await _bad(http, auth, _contract_body(application_id, to, textBody="Hi {{foo}}"))
    assert error["field"] == "textBody" and "templates[0]" not in error["message"]
    assert "{{foo}}" in error["message"]
    error = await _bad(http, auth, _contract_body(application_id, to, subject='"{{bar}}"'))
    assert error["field"] == "subject"
    error = await _bad(http, auth, _contract_body(application_id, to, period=None))
    assert error["field"] == "period"
    error = await _bad(http, auth, _contract_body(application_id, to, period="soon"))
    assert error["field"] == "period"
    error = await _bad(http, auth, _contract_body(application_id, to, timezone="Mars/Olympus"))
    assert error["field"] == "timezone"
    error = await _bad(http, auth, _contract_body(application_id, to, toEmail="nobody"))
    assert error["field"] == "toEmail"
    error = await _bad(http, auth, _contract_body(application_id, to, channel="SMS"))
    assert error["field"] == "channel"


async def test_admins_of_the_application_only(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    body = _contract_body(application_id, _email())
    assert (await http.post(TEST, json=body, headers=auth(Role.AGENT))).status_code == 403
    other = _contract_body(str(uuid.uuid4()), _email())
    assert (await http.post(TEST, json=other, headers=auth(ADMIN))).status_code == 403
    assert (await http.post(TEST, json=body)).status_code == 401
