"""Notification templates: their `{{placeholder}}`s, validation at save time and rendering.

Dates and times are always written in the appointment's own time zone, as the customer
will live it: the offset and the zone's abbreviation are those of that very instant, so an
appointment in Berlin reads CET in January and CEST in July.

No `from __future__ import annotations` here: `Links` is a msgspec Struct, and the Temporal
sandbox resolves the type hints of structs at runtime.
"""

import html as html_lib
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.durations import format_duration
from domain.errors import invalid
from domain.limits import MAX_TEMPLATE_PERIOD
from domain.model import (
    Appointment,
    Base,
    Contact,
    Name,
    Participant,
    ParticipantRef,
    ParticipantType,
)
from domain.notifications import NotificationType, Template
from domain.values import parse_locale, parse_timezone

PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "firstName",  # the recipient's first name, empty when unknown
        "lastName",  # the recipient's last name, empty when unknown
        "title",  # the appointment's title, empty when it has none
        "dd-MM-yyyy",  # start date, local: 31-01-2030
        "MM-dd-yyyy",  # start date, local: 01-31-2030
        "yyyy-MM-dd",  # start date, local: 2030-01-31
        "time24",  # start time, local: 19:05
        "time12",  # start time, local: 7:05 PM
        "end24",  # end time, local: 19:35
        "zone",  # abbreviation of the zone at the start: CET, CEST, EST, or UTC+03:00
        "timezone",  # the IANA name of the appointment's zone: Europe/Berlin
        "duration",  # in English words: 1 hour 30 minutes
        "roomUrl",  # the video room, empty while the room is not activated
        "icalUrl",  # the appointment's .ics download
        "googleUrl",  # a link that adds the appointment to Google Calendar
    }
)

# Whitespace inside the braces is tolerated because template editors add it freely.
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")

# Notifications tied to a change happen at that change; a period would be silently ignored.
_NO_PERIOD = frozenset({NotificationType.CREATE, NotificationType.RESCHEDULE, NotificationType.CANCELLED})


class Links(Base):
    """Addresses a message points to; the caller knows the public base URLs, the domain does not."""

    ical_url: str
    google_url: str
    # None while the room is not activated: `{{roomUrl}}` then renders empty.
    room_url: str | None = None


# --- placeholders and validation -----------------------------------------------------------


def placeholders_in(text: str) -> set[str]:
    """The placeholder names used in `text`, with surrounding whitespace removed."""
    return {match.group(1) for match in _PLACEHOLDER.finditer(text)}


def validate_template(template: Template, index: int) -> None:
    """Refuse a template that could never render as its author expects, naming the field."""
    prefix = f"templates[{index}]"
    for field, value in (("subject", template.subject), ("textBody", template.text_body)):
        if not value.strip():
            raise invalid(f"{prefix}.{field}", f"{prefix}.{field}: must not be empty")
    for field, value in (
        ("subject", template.subject),
        ("textBody", template.text_body),
        ("htmlBody", template.html_body or ""),
    ):
        unknown = sorted(placeholders_in(value) - PLACEHOLDERS)
        if unknown:
            names = ", ".join("{{" + name + "}}" for name in unknown)
            known = ", ".join("{{" + name + "}}" for name in sorted(PLACEHOLDERS))
            raise invalid(
                f"{prefix}.{field}",
                f"{prefix}.{field}: unknown placeholder {names}; known placeholders are {known}",
            )
    _validate_period(template, prefix)
    if template.locale is not None:
        parse_locale(f"{prefix}.locale", template.locale)


def _validate_period(template: Template, prefix: str) -> None:
    field = f"{prefix}.period"
    period = template.period
    if template.type is NotificationType.REMINDER:
        if period is None or period <= timedelta(0):
            raise invalid(
                field, f"{field}: a REMINDER needs a positive period, such as PT1H before the start"
            )
    elif template.type in _NO_PERIOD:
        if period is not None:
            raise invalid(
                field, f"{field}: a {template.type.value} message is sent at the change and takes no period"
            )
    elif template.type is NotificationType.FOLLOW_UP and period is not None and period < timedelta(0):
        raise invalid(field, f"{field}: a FOLLOW_UP period is counted after the end and cannot be negative")
    if period is not None and period > MAX_TEMPLATE_PERIOD:
        longest = format_duration(MAX_TEMPLATE_PERIOD)
        raise invalid(field, f"{field}: {format_duration(period)} is longer than the maximum of {longest}")


# --- values --------------------------------------------------------------------------------


def local_start(appointment: Appointment) -> datetime:
    return appointment.start.astimezone(ZoneInfo(appointment.timezone))


def zone_label(local: datetime) -> str:
    """The zone's abbreviation at that instant, or `UTC+hh:mm` where the tz database has none.

    Many zones (America/Sao_Paulo, Europe/Istanbul) only carry numeric names such as "-03",
    which read like a typo in a sentence.
    """
    name = local.tzname() or ""
    if name and not name.startswith(("+", "-")) and not name[0].isdigit():
        return name
    return format_offset(local.utcoffset() or timedelta(0))


def format_offset(offset: timedelta) -> str:
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    hours, minutes = divmod(minutes, 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def time12(value: datetime) -> str:
    # %I pads with a zero and %p follows the C locale; build it by hand for "7:05 PM".
    hour = value.hour % 12 or 12
    return f"{hour}:{value.minute:02d} {'AM' if value.hour < 12 else 'PM'}"


def human_duration(value: timedelta) -> str:
    """English words for a length: "30 minutes", "1 hour 30 minutes", "2 days"."""
    total = int(value.total_seconds())
    if total <= 0:
        return "0 minutes"
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [
        f"{amount} {unit}{'' if amount == 1 else 's'}"
        for amount, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"), (seconds, "second"))
        if amount
    ]
    return " ".join(parts)


def placeholder_values(
    appointment: Appointment, recipient: Participant | None, links: Links
) -> dict[str, str]:
    """Every placeholder's text for this appointment and recipient, unescaped."""
    start = local_start(appointment)
    end = appointment.end.astimezone(start.tzinfo)
    name = (recipient.name if recipient is not None else None) or Name()
    return {
        "firstName": name.first_name or "",
        "lastName": name.last_name or "",
        "title": appointment.title or "",
        "dd-MM-yyyy": start.strftime("%d-%m-%Y"),
        "MM-dd-yyyy": start.strftime("%m-%d-%Y"),
        "yyyy-MM-dd": start.strftime("%Y-%m-%d"),
        "time24": start.strftime("%H:%M"),
        "time12": time12(start),
        "end24": end.strftime("%H:%M"),
        "zone": zone_label(start),
        "timezone": appointment.timezone,
        "duration": human_duration(appointment.duration),
        "roomUrl": links.room_url or "",
        "icalUrl": links.ical_url,
        "googleUrl": links.google_url,
    }


def render(
    text: str,
    appointment: Appointment,
    recipient: Participant | None,
    links: Links,
    html: bool = False,
) -> str:
    """Fill the placeholders of `text`; with `html`, values are escaped for an HTML body.

    Unknown placeholders stay as written: templates are validated when saved, and a message
    with a visible `{{typo}}` is better than none.
    """
    values = placeholder_values(appointment, recipient, links)

    def substitute(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value is None:
            return match.group(0)
        return html_lib.escape(value, quote=True) if html else value

    return _PLACEHOLDER.sub(substitute, text)


# --- choosing a template -------------------------------------------------------------------


def _normal_locale(locale: str) -> str:
    return locale.strip().replace("_", "-").lower()


def _language(locale: str) -> str:
    return _normal_locale(locale).split("-", 1)[0]


def choose_template(
    templates: Sequence[Template],
    kind: NotificationType,
    locale: str | None,
    period: timedelta | None = None,
) -> Template | None:
    """The template of `kind` that best fits `locale`, or None when there is none of that kind.

    Preference: the exact locale, then the bare language (`en` for `en-GB`), then another
    region of the same language (`en-US`), then a template without locale, then the first.
    For REMINDER a given `period` narrows the choice to the reminders of that period.
    """
    candidates = [
        t
        for t in templates
        if t.type is kind and (kind is not NotificationType.REMINDER or period is None or t.period == period)
    ]
    if not candidates:
        return None
    if locale:
        wanted = _normal_locale(locale)
        language = _language(locale)
        for matches in (
            lambda t: _normal_locale(t.locale) == wanted,
            lambda t: _normal_locale(t.locale) == language,
            lambda t: _language(t.locale) == language,
        ):
            found = next((t for t in candidates if t.locale and matches(t)), None)
            if found is not None:
                return found
    return next((t for t in candidates if not t.locale), candidates[0])


def reminder_periods(templates: Sequence[Template]) -> list[timedelta]:
    """The distinct positive reminder periods, longest first (the order their times come in)."""
    periods = {
        t.period
        for t in templates
        if t.type is NotificationType.REMINDER and t.period is not None and t.period > timedelta(0)
    }
    return sorted(periods, reverse=True)


# --- sample data ---------------------------------------------------------------------------

# Stable ids make repeated test emails update one sample event in the recipient's calendar
# instead of piling up copies.
_SAMPLE_NAMESPACE = uuid.UUID("5d0f6c1e-0d7a-4c55-9b2e-6a1f3f0e9a11")


def sample_appointment(
    application_id: str, timezone: str, locale: str | None, now: datetime
) -> tuple[Appointment, Participant]:
    """A plausible appointment for previewing a template: tomorrow 10:00 local, 30 minutes.

    Raises `DomainError(INVALID)` on field `timezone` for an unknown zone.
    """
    timezone = parse_timezone("timezone", timezone)
    zone = ZoneInfo(timezone)
    day = now.astimezone(zone).date() + timedelta(days=1)
    # Appointments keep their start in UTC; the zone's rules of that day give the offset.
    start = datetime.combine(day, time(10, 0), tzinfo=zone).astimezone(UTC)
    customer = Participant(
        id=str(uuid.uuid5(_SAMPLE_NAMESPACE, f"{application_id}/customer")),
        type=ParticipantType.CUSTOMER,
        name=Name(first_name="Jane", last_name="Doe"),
        contact=Contact(primary_email="jane.doe@example.com"),
    )
    agent = Participant(
        id=str(uuid.uuid5(_SAMPLE_NAMESPACE, f"{application_id}/agent")),
        type=ParticipantType.AGENT,
    )
    stamp = now.astimezone(UTC)
    appointment = Appointment(
        id=str(uuid.uuid5(_SAMPLE_NAMESPACE, f"{application_id}/appointment")),
        application_id=application_id,
        organizer=ParticipantRef(id=agent.id, type=agent.type),
        participants=(customer, agent),
        start=start,
        duration=timedelta(minutes=30),
        timezone=timezone,
        locale=locale,
        title="Sample appointment",
        created_at=stamp,
        updated_at=stamp,
    )
    return appointment, customer
