"""Templates: which placeholders exist, what is refused at save time, and how they render.

Times are rendered in the appointment's own zone; the cases pin instants on both sides of
DST changes and of local midnight, where an offset bug shows as a wrong hour or day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import timezone as fixed_zone
from typing import Any

import msgspec
import pytest

from domain.errors import DomainError, ErrorKind
from domain.model import Appointment, Name, Participant, ParticipantType
from domain.notifications import NotificationType, Template
from domain.rendering import (
    PLACEHOLDERS,
    Links,
    choose_template,
    human_duration,
    placeholders_in,
    reminder_periods,
    render,
    sample_appointment,
    time12,
    validate_template,
    zone_label,
)
from tests.support.factories import new_appointment, principal

NOW = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)
LINKS = Links(
    room_url="https://rooms.example.test/r/abc",
    ical_url="https://api.example.test/api/cal/events/ical/1/event",
    google_url="https://api.example.test/api/cal/events/google/1/event",
)


def _appointment(
    start: datetime,
    *,
    timezone: str = "Europe/Berlin",
    duration: timedelta = timedelta(minutes=30),
    **changes: Any,
) -> Appointment:
    appointment = new_appointment(principal(), start=start, duration=duration, now=NOW)
    return msgspec.structs.replace(appointment, timezone=timezone, **changes)


def _customer(appointment: Appointment) -> Participant:
    return next(p for p in appointment.participants if p.type is ParticipantType.CUSTOMER)


def _render(text: str, appointment: Appointment, links: Links = LINKS, **kwargs: Any) -> str:
    return render(text, appointment, _customer(appointment), links, **kwargs)


# --- placeholders_in -----------------------------------------------------------------------


def test_placeholders_in_finds_names_and_tolerates_whitespace() -> None:
    text = "Hi {{firstName}} {{ lastName }}, on {{\tdd-MM-yyyy\n}} at {{time24}} ({{time24}}) {{nope}}"
    assert placeholders_in(text) == {"firstName", "lastName", "dd-MM-yyyy", "time24", "nope"}


def test_placeholders_in_ignores_single_braces_and_plain_text() -> None:
    assert placeholders_in("{firstName} and { {title} } and nothing") == set()


def test_placeholder_set_covers_the_contracted_names() -> None:
    required = {
        "firstName",
        "lastName",
        "title",
        "dd-MM-yyyy",
        "MM-dd-yyyy",
        "yyyy-MM-dd",
        "time24",
        "time12",
        "zone",
        "duration",
        "roomUrl",
        "icalUrl",
        "googleUrl",
    }
    assert required <= PLACEHOLDERS


# --- render: every placeholder -------------------------------------------------------------

# 18:05 UTC on 31 January is 19:05 CET in Berlin.
WINTER = datetime(2030, 1, 31, 18, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("placeholder", "expected"),
    [
        ("firstName", "Bobby"),
        ("lastName", "Ewing"),
        ("title", "Product installation review"),
        ("dd-MM-yyyy", "31-01-2030"),
        ("MM-dd-yyyy", "01-31-2030"),
        ("yyyy-MM-dd", "2030-01-31"),
        ("time24", "19:05"),
        ("time12", "7:05 PM"),
        ("end24", "20:35"),
        ("zone", "CET"),
        ("timezone", "Europe/Berlin"),
        ("duration", "1 hour 30 minutes"),
        ("roomUrl", "https://rooms.example.test/r/abc"),
        ("icalUrl", "https://api.example.test/api/cal/events/ical/1/event"),
        ("googleUrl", "https://api.example.test/api/cal/events/google/1/event"),
    ],
)
def test_each_placeholder_renders(placeholder: str, expected: str) -> None:
    appointment = _appointment(WINTER, duration=timedelta(minutes=90))
    assert _render(f"[{{{{{placeholder}}}}}]", appointment) == f"[{expected}]"


def test_every_placeholder_is_replaced() -> None:
    text = " ".join("{{" + name + "}}" for name in sorted(PLACEHOLDERS))
    rendered = _render(text, _appointment(WINTER))
    assert "{{" not in rendered
    assert "}}" not in rendered


def test_whitespace_inside_braces_renders_too() -> None:
    assert _render("Dear {{ firstName }} {{lastName  }}", _appointment(WINTER)) == "Dear Bobby Ewing"


def test_unknown_placeholders_are_left_untouched() -> None:
    assert _render("{{firstName}} {{ shoeSize }} {{}}", _appointment(WINTER)) == "Bobby {{ shoeSize }} {{}}"


def test_missing_values_render_empty() -> None:
    appointment = _appointment(WINTER, title=None)
    nameless = msgspec.structs.replace(_customer(appointment), name=Name(first_name="Cher"))
    links = msgspec.structs.replace(LINKS, room_url=None)
    text = "<{{firstName}}|{{lastName}}|{{title}}|{{roomUrl}}>"
    assert render(text, appointment, nameless, links) == "<Cher|||>"
    assert render(text, appointment, None, links) == "<|||>"
    without_name = msgspec.structs.replace(nameless, name=None)
    assert render(text, appointment, without_name, links) == "<|||>"


# --- render: time zones and DST ------------------------------------------------------------

WHEN = "{{dd-MM-yyyy}} {{time24}} {{time12}} {{zone}}"


def test_berlin_winter_is_cet_and_summer_is_cest() -> None:
    winter = _appointment(datetime(2030, 1, 15, 18, 5, tzinfo=UTC))
    summer = _appointment(datetime(2030, 7, 15, 18, 5, tzinfo=UTC))
    assert _render(WHEN, winter) == "15-01-2030 19:05 7:05 PM CET"
    assert _render(WHEN, summer) == "15-07-2030 20:05 8:05 PM CEST"


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        # Berlin springs forward on 31 March 2030 at 01:00 UTC (02:00 CET becomes 03:00 CEST).
        (datetime(2030, 3, 31, 0, 30, tzinfo=UTC), "31-03-2030 01:30 1:30 AM CET"),
        (datetime(2030, 3, 31, 1, 30, tzinfo=UTC), "31-03-2030 03:30 3:30 AM CEST"),
        # ... and falls back on 27 October 2030 at 01:00 UTC: 02:30 local happens twice.
        (datetime(2030, 10, 27, 0, 30, tzinfo=UTC), "27-10-2030 02:30 2:30 AM CEST"),
        (datetime(2030, 10, 27, 1, 30, tzinfo=UTC), "27-10-2030 02:30 2:30 AM CET"),
    ],
)
def test_berlin_on_the_days_of_the_dst_change(utc: datetime, expected: str) -> None:
    assert _render(WHEN, _appointment(utc)) == expected


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        (datetime(2030, 1, 31, 18, 5, tzinfo=UTC), "31-01-2030 13:05 1:05 PM EST"),
        (datetime(2030, 7, 31, 18, 5, tzinfo=UTC), "31-07-2030 14:05 2:05 PM EDT"),
    ],
)
def test_new_york(utc: datetime, expected: str) -> None:
    assert _render(WHEN, _appointment(utc, timezone="America/New_York")) == expected


def test_the_date_is_the_local_one_when_utc_and_local_days_differ() -> None:
    # 23:30 UTC on 31 January is already 1 February in Berlin...
    berlin = _appointment(datetime(2030, 1, 31, 23, 30, tzinfo=UTC))
    assert _render("{{dd-MM-yyyy}} {{MM-dd-yyyy}} {{yyyy-MM-dd}} {{time24}}", berlin) == (
        "01-02-2030 02-01-2030 2030-02-01 00:30"
    )
    # ... while 03:00 UTC on 1 February is still 31 January in New York.
    new_york = _appointment(datetime(2030, 2, 1, 3, 0, tzinfo=UTC), timezone="America/New_York")
    assert _render("{{dd-MM-yyyy}} {{time24}} {{time12}}", new_york) == "31-01-2030 22:00 10:00 PM"


def test_noon_and_midnight_in_twelve_hour_time() -> None:
    noon = _appointment(datetime(2030, 1, 31, 11, 0, tzinfo=UTC))
    midnight = _appointment(datetime(2030, 1, 31, 23, 0, tzinfo=UTC))
    assert _render("{{time12}} {{time24}}", noon) == "12:00 PM 12:00"
    assert _render("{{time12}} {{time24}} {{dd-MM-yyyy}}", midnight) == "12:00 AM 00:00 01-02-2030"


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [
        (0, 0, "12:00 AM"),
        (0, 59, "12:59 AM"),
        (1, 5, "1:05 AM"),
        (11, 59, "11:59 AM"),
        (12, 0, "12:00 PM"),
        (12, 30, "12:30 PM"),
        (13, 0, "1:00 PM"),
        (23, 59, "11:59 PM"),
    ],
)
def test_time12(hour: int, minute: int, expected: str) -> None:
    assert time12(datetime(2030, 1, 1, hour, minute)) == expected


@pytest.mark.parametrize(
    ("timezone", "expected"),
    [
        ("Europe/Berlin", "CET"),
        ("Asia/Kolkata", "IST"),
        ("UTC", "UTC"),
        # The tz database has only numeric names for these: spell them as offsets.
        ("America/Sao_Paulo", "UTC-03:00"),
        ("Asia/Kathmandu", "UTC+05:45"),
        ("Asia/Dubai", "UTC+04:00"),
    ],
)
def test_zone_label(timezone: str, expected: str) -> None:
    assert _render("{{zone}}", _appointment(WINTER, timezone=timezone)) == expected


def test_zone_label_of_a_fixed_offset_without_name() -> None:
    offset = fixed_zone(timedelta(hours=-3, minutes=-30), "-0330")
    assert zone_label(datetime(2030, 1, 1, tzinfo=offset)) == "UTC-03:30"


# --- render: duration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (timedelta(minutes=1), "1 minute"),
        (timedelta(minutes=30), "30 minutes"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(hours=1, minutes=30), "1 hour 30 minutes"),
        (timedelta(hours=2, minutes=1), "2 hours 1 minute"),
        (timedelta(days=1), "1 day"),
        (timedelta(days=2), "2 days"),
        (timedelta(days=1, hours=2), "1 day 2 hours"),
        (timedelta(seconds=90), "1 minute 30 seconds"),
        (timedelta(0), "0 minutes"),
    ],
)
def test_human_duration(duration: timedelta, expected: str) -> None:
    assert human_duration(duration) == expected


# --- render: HTML --------------------------------------------------------------------------


def test_html_bodies_get_escaped_values_but_keep_their_markup() -> None:
    appointment = _appointment(WINTER, title='Tom & Jerry <script>"x"</script>')
    links = msgspec.structs.replace(LINKS, room_url="https://rooms.example.test/r?a=1&b=2")
    template = '<p>{{title}}</p><a href="{{roomUrl}}">join</a>'
    assert _render(template, appointment, links, html=True) == (
        "<p>Tom &amp; Jerry &lt;script&gt;&quot;x&quot;&lt;/script&gt;</p>"
        '<a href="https://rooms.example.test/r?a=1&amp;b=2">join</a>'
    )
    # Plain text bodies and subjects are sent as they are.
    assert _render("{{title}}", appointment) == 'Tom & Jerry <script>"x"</script>'


def test_links_travel_with_camel_case_names() -> None:
    encoded = msgspec.json.encode(LINKS)
    assert b'"roomUrl"' in encoded
    assert b'"icalUrl"' in encoded
    assert msgspec.json.decode(encoded, type=Links) == LINKS


# --- validate_template ---------------------------------------------------------------------


def _template(kind: NotificationType = NotificationType.CREATE, **fields: Any) -> Template:
    values: dict[str, Any] = {"subject": "Your appointment", "text_body": "Hello {{firstName}}"}
    values.update(fields)
    return Template(type=kind, **values)


@pytest.mark.parametrize(
    "template",
    [
        _template(),
        _template(html_body="<p>{{ firstName }} {{roomUrl}}</p>", locale="en-GB"),
        _template(NotificationType.RESCHEDULE, subject="Moved to {{dd-MM-yyyy}} {{time24}} {{zone}}"),
        _template(NotificationType.CANCELLED),
        _template(NotificationType.REMINDER, period=timedelta(hours=1)),
        _template(NotificationType.FOLLOW_UP),
        _template(NotificationType.FOLLOW_UP, period=timedelta(0)),
        _template(NotificationType.FOLLOW_UP, period=timedelta(days=1)),
        _template(text_body=" ".join("{{" + name + "}}" for name in PLACEHOLDERS)),
    ],
)
def test_valid_templates_pass(template: Template) -> None:
    validate_template(template, 0)


@pytest.mark.parametrize(
    ("template", "field", "fragment"),
    [
        (_template(subject=""), "subject", "empty"),
        (_template(subject="   "), "subject", "empty"),
        (_template(text_body=""), "textBody", "empty"),
        (_template(subject="Hi {{first_name}}"), "subject", "{{first_name}}"),
        (_template(text_body="Hi {{ shoeSize }}"), "textBody", "{{shoeSize}}"),
        (_template(html_body="<p>{{dd.MM.yyyy}}</p>"), "htmlBody", "{{dd.MM.yyyy}}"),
        (_template(NotificationType.REMINDER), "period", "positive period"),
        (_template(NotificationType.REMINDER, period=timedelta(0)), "period", "positive period"),
        (_template(NotificationType.REMINDER, period=timedelta(minutes=-5)), "period", "positive period"),
        (_template(NotificationType.CREATE, period=timedelta(hours=1)), "period", "no period"),
        (_template(NotificationType.RESCHEDULE, period=timedelta(hours=1)), "period", "no period"),
        (_template(NotificationType.CANCELLED, period=timedelta(0)), "period", "no period"),
        (_template(NotificationType.FOLLOW_UP, period=timedelta(hours=-1)), "period", "negative"),
        (_template(locale="english please"), "locale", "locale"),
    ],
)
def test_invalid_templates_name_the_field(template: Template, field: str, fragment: str) -> None:
    with pytest.raises(DomainError) as info:
        validate_template(template, 3)
    error = info.value
    assert error.kind is ErrorKind.INVALID
    assert error.field == f"templates[3].{field}"
    assert error.message.startswith(f"templates[3].{field}: ")
    assert fragment in error.message


def test_unknown_placeholder_message_lists_the_known_ones() -> None:
    with pytest.raises(DomainError) as info:
        validate_template(_template(text_body="{{b}} {{a}} {{firstName}}"), 0)
    message = info.value.message
    assert "{{a}}, {{b}}" in message
    assert "{{firstName}}" not in message.split("known placeholders")[0]
    for name in PLACEHOLDERS:
        assert "{{" + name + "}}" in message


# --- choose_template -----------------------------------------------------------------------

CREATE_DE = _template(locale="de-DE", subject="de-DE")
CREATE_EN = _template(locale="en", subject="en")
CREATE_EN_US = _template(locale="en_US", subject="en_US")
CREATE_ANY = _template(subject="any")
CANCELLED_FR = _template(NotificationType.CANCELLED, locale="fr", subject="cancelled fr")
REMIND_DAY_EN = _template(NotificationType.REMINDER, period=timedelta(days=1), locale="en", subject="1d en")
REMIND_DAY_DE = _template(NotificationType.REMINDER, period=timedelta(days=1), locale="de", subject="1d de")
REMIND_HOUR = _template(NotificationType.REMINDER, period=timedelta(hours=1), subject="1h")
ALL = (
    CANCELLED_FR,
    CREATE_DE,
    CREATE_EN_US,
    CREATE_EN,
    CREATE_ANY,
    REMIND_DAY_EN,
    REMIND_DAY_DE,
    REMIND_HOUR,
)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("de-DE", CREATE_DE),
        ("DE_de", CREATE_DE),  # case and separator do not matter
        ("en-US", CREATE_EN_US),
        ("en-GB", CREATE_EN),  # the bare language before another region
        ("en", CREATE_EN),
        ("de-AT", CREATE_DE),  # another region of the same language
        ("fr-FR", CREATE_ANY),  # no French CREATE: the one without locale
        (None, CREATE_ANY),
        ("", CREATE_ANY),
    ],
)
def test_choose_template_by_locale(locale: str | None, expected: Template) -> None:
    assert choose_template(ALL, NotificationType.CREATE, locale) is expected


def test_choose_template_falls_back_to_the_first_of_its_kind() -> None:
    templates = (CANCELLED_FR, CREATE_EN_US, CREATE_DE)
    assert choose_template(templates, NotificationType.CREATE, "it-IT") is CREATE_EN_US
    assert choose_template(templates, NotificationType.CREATE, None) is CREATE_EN_US
    # Another kind's better locale never wins over the right kind.
    assert choose_template(templates, NotificationType.CANCELLED, "de-DE") is CANCELLED_FR


def test_choose_template_none_without_that_kind() -> None:
    assert choose_template(ALL, NotificationType.FOLLOW_UP, "en") is None
    assert choose_template((), NotificationType.CREATE, "en") is None
    assert choose_template(ALL, NotificationType.REMINDER, "en", timedelta(minutes=5)) is None


def test_choose_reminder_by_period_then_locale() -> None:
    day = timedelta(days=1)
    assert choose_template(ALL, NotificationType.REMINDER, "de-CH", day) is REMIND_DAY_DE
    assert choose_template(ALL, NotificationType.REMINDER, "en-GB", day) is REMIND_DAY_EN
    assert choose_template(ALL, NotificationType.REMINDER, "en-GB", timedelta(hours=1)) is REMIND_HOUR
    # Without a period any reminder may be chosen, by locale.
    assert choose_template(ALL, NotificationType.REMINDER, "de", None) is REMIND_DAY_DE


def test_reminder_periods_are_distinct_longest_first() -> None:
    assert reminder_periods(ALL) == [timedelta(days=1), timedelta(hours=1)]
    assert reminder_periods((CREATE_EN, CANCELLED_FR)) == []


# --- sample_appointment --------------------------------------------------------------------


def test_sample_appointment_is_tomorrow_at_ten_local() -> None:
    appointment, customer = sample_appointment("app-1", "Europe/Berlin", "de-DE", NOW)
    assert appointment.start == datetime(2030, 1, 2, 9, 0, tzinfo=UTC)  # 10:00 CET
    assert appointment.duration == timedelta(minutes=30)
    assert appointment.title == "Sample appointment"
    assert appointment.application_id == "app-1"
    assert appointment.locale == "de-DE"
    assert customer in appointment.participants
    assert customer.type is ParticipantType.CUSTOMER
    assert customer.name == Name(first_name="Jane", last_name="Doe")
    assert customer.contact is not None
    assert customer.contact.primary_email == "jane.doe@example.com"
    rendered = render(
        "{{firstName}} {{lastName}} {{dd-MM-yyyy}} {{time24}} {{zone}}", appointment, customer, LINKS
    )
    assert rendered == "Jane Doe 02-01-2030 10:00 CET"


def test_sample_appointment_counts_tomorrow_in_the_local_zone() -> None:
    # 23:30 UTC on 31 January is 1 February in Berlin, so tomorrow is 2 February ...
    late = datetime(2030, 1, 31, 23, 30, tzinfo=UTC)
    berlin, _ = sample_appointment("app-1", "Europe/Berlin", None, late)
    assert berlin.start == datetime(2030, 2, 2, 9, 0, tzinfo=UTC)
    # ... and still 31 January in New York, where tomorrow is 1 February, in summer time too.
    new_york, _ = sample_appointment("app-1", "America/New_York", None, late)
    assert new_york.start == datetime(2030, 2, 1, 15, 0, tzinfo=UTC)
    summer, _ = sample_appointment("app-1", "America/New_York", None, datetime(2030, 7, 1, 12, tzinfo=UTC))
    assert summer.start == datetime(2030, 7, 2, 14, 0, tzinfo=UTC)


def test_sample_appointment_is_stable_per_application() -> None:
    first, _ = sample_appointment("app-1", "Europe/Berlin", None, NOW)
    again, _ = sample_appointment("app-1", "Europe/Berlin", None, NOW + timedelta(days=3))
    other, _ = sample_appointment("app-2", "Europe/Berlin", None, NOW)
    assert first.id == again.id
    assert first.id != other.id


def test_sample_appointment_refuses_an_unknown_zone() -> None:
    with pytest.raises(DomainError) as info:
        sample_appointment("app-1", "Mars/Olympus_Mons", None, NOW)
    assert info.value.kind is ErrorKind.INVALID
    assert info.value.field == "timezone"
