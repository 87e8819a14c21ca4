"""Builds the email of a notification: rendered subject and bodies, and the calendar invite."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.utils import parseaddr

from domain import calendar, rendering
from domain.model import Appointment, Participant
from domain.notifications import NotificationType, Template

# Which calendar method each message carries; the follow-up carries none.
_ICS_METHOD = {
    NotificationType.CREATE: "REQUEST",
    NotificationType.RESCHEDULE: "REQUEST",
    NotificationType.REMINDER: "REQUEST",
    NotificationType.CANCELLED: "CANCEL",
}


def links(appointment: Appointment, public_base_url: str) -> rendering.Links:
    """Links in emails point at the API, so they always show the appointment's current schedule."""
    events = f"{public_base_url}/api/cal/events"
    return rendering.Links(
        room_url=appointment.room_access.url if appointment.room_access else None,
        ical_url=f"{events}/ical/{appointment.id}/event",
        google_url=f"{events}/google/{appointment.id}/event",
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
    delivery_key: str,
) -> EmailMessage:
    link_set = links(appointment, public_base_url)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = rendering.render(template.subject, appointment, recipient, link_set).replace(
        "\n", " "
    )
    message["Message-ID"] = message_id(delivery_key)
    message["X-Appointment-Id"] = appointment.id
    message["X-Notification-Type"] = kind.value
    message.set_content(rendering.render(template.text_body, appointment, recipient, link_set))
    if template.html_body:
        message.add_alternative(
            rendering.render(template.html_body, appointment, recipient, link_set, html=True), subtype="html"
        )
    method = _ICS_METHOD.get(kind)
    if method is not None:
        invite = calendar.ics(
            appointment,
            method=method,
            organizer_email=_address(sender),
            description=calendar.event_description(appointment, link_set.room_url),
            url=link_set.room_url,
        )
        message.add_attachment(
            invite,
            maintype="text",
            subtype="calendar",
            filename="invite.ics",
            params={"method": method},
        )
    return message


def _address(sender: str) -> str | None:
    address = parseaddr(sender)[1]
    return address or None
