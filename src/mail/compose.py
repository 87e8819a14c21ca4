"""Builds the email of a notification: rendered subject and bodies, and the calendar invite."""

from __future__ import annotations

import hashlib

from domain import calendar, rendering
from domain.keys import ServiceKeys
from domain.model import Appointment, Participant
from domain.notifications import NotificationType, Template
from domain.text import one_line
from mail import mime

# The query parameter of the calendar links that admits the room's URL.
CALENDAR_KEY_PARAMETER = "key"
# Which calendar method each message carries; the follow-up carries none.
_ICS_METHOD = {
    NotificationType.CREATE: "REQUEST",
    NotificationType.RESCHEDULE: "REQUEST",
    NotificationType.REMINDER: "REQUEST",
    NotificationType.CANCELLED: "CANCEL",
}


def links(appointment: Appointment, public_base_url: str, keys: ServiceKeys) -> rendering.Links:
    """Links in emails point at the API, so they always show the appointment's current schedule.

    The calendar links carry the appointment's calendar key: only with it do the public calendar
    endpoints include the room's URL (docs/security.md).
    """
    events = f"{public_base_url}/api/cal/events"
    key = f"?{CALENDAR_KEY_PARAMETER}={keys.calendar_token(appointment.id)}"
    return rendering.Links(
        room_url=appointment.room_access.url if appointment.room_access else None,
        ical_url=f"{events}/ical/{appointment.id}/event{key}",
        google_url=f"{events}/google/{appointment.id}/event{key}",
    )


def message_id(delivery_key: str) -> str:
    """Stable across retries, so a receiving server can recognise a repeated delivery."""
    return f"<{hashlib.sha256(delivery_key.encode()).hexdigest()[:40]}@appointments>"


def compose(
    kind: NotificationType,
    template: Template,
    appointment: Appointment,
    recipient: Participant,
    *,
    to: str,
    sender: str,
    public_base_url: str,
    keys: ServiceKeys,
    delivery_key: str,
) -> mime.Mail:
    """The message; raises ValueError (or TypeError) for one that can never be composed."""
    link_set = links(appointment, public_base_url, keys)
    # Values that reach the subject are one line since they are checked, but not those stored before.
    subject = one_line(rendering.render(template.subject, appointment, recipient, link_set))
    headers = [
        mime.header("Subject", subject),
        mime.header("Message-ID", message_id(delivery_key)),
        mime.header("X-Appointment-Id", appointment.id),
        mime.header("X-Notification-Type", kind.value),
    ]
    content = mime.text("plain", rendering.render(template.text_body, appointment, recipient, link_set))
    if template.html_body:
        html = rendering.render(template.html_body, appointment, recipient, link_set, html=True)
        content = mime.multipart("alternative", [content, mime.text("html", html)])
    method = _ICS_METHOD.get(kind)
    if method is not None:
        invite = calendar.ics(
            appointment,
            method=method,
            organizer_email=mime.address("From", sender)[1],
            description=calendar.event_description(appointment, link_set.room_url),
            url=link_set.room_url,
        )
        content = mime.multipart(
            "mixed",
            [content, mime.attachment(invite, f'text/calendar; method="{method}"', "invite.ics")],
        )
    return mime.mail(sender, to, headers, content)
