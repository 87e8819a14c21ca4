"""Parsing of scalar request values into domain values, or a 400 naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import DomainError, ErrorKind
from domain.values import (
    parse_duration_field,
    parse_locale,
    parse_timestamp,
    parse_timezone,
    parse_uuid,
)


def _assert_invalid(info: pytest.ExceptionInfo[DomainError], field: str, raw: str) -> None:
    error = info.value
    assert error.kind is ErrorKind.INVALID
    assert error.field == field
    assert error.message.startswith(f"{field}: ")
    assert repr(raw) in error.message
    assert str(error) == error.message


# --- parse_timestamp -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2030-01-31T19:00:00Z", datetime(2030, 1, 31, 19, 0, tzinfo=UTC)),
        ("2030-01-31T19:00:00+00:00", datetime(2030, 1, 31, 19, 0, tzinfo=UTC)),
        ("2030-01-31T19:00:00+02:00", datetime(2030, 1, 31, 17, 0, tzinfo=UTC)),
        ("2030-01-31T01:00:00+02:00", datetime(2030, 1, 30, 23, 0, tzinfo=UTC)),  # crosses midnight
        ("2030-01-31T19:00:00-05:30", datetime(2030, 2, 1, 0, 30, tzinfo=UTC)),
        ("2030-01-31T19:00:00", datetime(2030, 1, 31, 19, 0, tzinfo=UTC)),  # naive is UTC
        ('"2022-01-31T19:00:00.0Z"', datetime(2022, 1, 31, 19, 0, tzinfo=UTC)),
        ("2022-01-31T19:00:00.250Z", datetime(2022, 1, 31, 19, 0, 0, 250_000, tzinfo=UTC)),
        ("  2030-01-31T19:00:00Z  ", datetime(2030, 1, 31, 19, 0, tzinfo=UTC)),
    ],
)
def test_parse_timestamp_returns_utc(raw: str, expected: datetime) -> None:
    value = parse_timestamp("start", raw)
    assert value == expected
    # Not only equal as an instant: the result is expressed in UTC.
    assert value.utcoffset() == timedelta(0)
    assert value.tzinfo is UTC


@pytest.mark.parametrize(
    "raw", ["", '""', "tomorrow", "2030-13-01T00:00:00Z", "2030-01-31T25:00:00Z", "31.01.2030 19:00", "PT5M"]
)
def test_parse_timestamp_refuses_garbage_naming_the_field(raw: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_timestamp("start", raw)
    _assert_invalid(info, "start", raw)


def test_parse_timestamp_uses_the_given_field_name() -> None:
    with pytest.raises(DomainError) as info:
        parse_timestamp("newStart", "not a time")
    assert info.value.field == "newStart"
    assert "newStart" in info.value.message


@pytest.mark.parametrize("raw", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_parse_timestamp_refuses_out_of_range_instants_as_invalid(raw: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_timestamp("start", raw)
    assert info.value.kind is ErrorKind.INVALID


# --- parse_duration_field ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("PT30M", timedelta(minutes=30)),
        ('"PT1H"', timedelta(hours=1)),
        ("P1D", timedelta(days=1)),  # exactly the maximum is allowed
        ("PT24H", timedelta(days=1)),
    ],
)
def test_parse_duration_field_accepts_up_to_one_day(raw: str, expected: timedelta) -> None:
    assert parse_duration_field("duration", raw) == expected


@pytest.mark.parametrize("raw", ["P1DT0.000001S", "PT24H1M", "P2D", "P1W"])
def test_parse_duration_field_refuses_more_than_one_day(raw: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_duration_field("duration", raw)
    _assert_invalid(info, "duration", raw)
    assert "maximum of P1D" in info.value.message


def test_parse_duration_field_maximum_can_be_changed_or_lifted() -> None:
    assert parse_duration_field("duration", "P3D", maximum=None) == timedelta(days=3)
    with pytest.raises(DomainError):
        parse_duration_field("duration", "PT2H", maximum=timedelta(hours=1))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("PT0S", "longer than zero"),
        ("-PT5M", "not an ISO 8601 duration"),
        ("30", "not an ISO 8601 duration"),
        ("", "not an ISO 8601 duration"),
        ("P1M", "years or months"),
    ],
)
def test_parse_duration_field_turns_parse_errors_into_invalid(raw: str, reason: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_duration_field("duration", raw)
    _assert_invalid(info, "duration", raw)
    assert reason in info.value.message


def test_parse_duration_field_refuses_an_out_of_range_duration_as_invalid() -> None:
    with pytest.raises(DomainError) as info:
        parse_duration_field("duration", "P1000000000D")
    _assert_invalid(info, "duration", "P1000000000D")


# --- parse_timezone ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ('"Europe/Berlin"', "Europe/Berlin"),
        (" America/New_York ", "America/New_York"),
        ("UTC", "UTC"),
    ],
)
def test_parse_timezone_accepts_iana_names(raw: str, expected: str) -> None:
    assert parse_timezone("timezone", raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        '""',
        "Mars/Olympus",
        "../etc/passwd",
        "Europe/../../etc/passwd",
        "/etc/localtime",
        "/usr/share/zoneinfo/Europe/Berlin",
        "./UTC",
        "Europe",  # a directory of the tz database, not a zone
        "Europe/Berlin\x00",
        "+02:00",
    ],
)
def test_parse_timezone_refuses_unknown_names_and_paths(raw: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_timezone("timezone", raw)
    _assert_invalid(info, "timezone", raw)
    assert "IANA time zone" in info.value.message


# --- parse_locale --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("en", "en"),
        ("en-GB", "en-GB"),
        ("de_DE", "de_DE"),
        ("zh-Hant-TW", "zh-Hant-TW"),
        ("es-419", "es-419"),
        ("fil", "fil"),
        ('"en-GB"', "en-GB"),
    ],
)
def test_parse_locale_accepts_language_tags(raw: str, expected: str) -> None:
    assert parse_locale("locale", raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "e", "english", "en-", "en-G", "en GB", "12-GB", "en-GB;q=0.8", "en-abcdefghi", "de-DE\x00"]
)
def test_parse_locale_refuses_other_text(raw: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_locale("locale", raw)
    _assert_invalid(info, "locale", raw)


# --- parse_uuid ----------------------------------------------------------------------------

_ID = "3f2c5e0a-8a4b-4c1d-9e2f-0123456789ab"


@pytest.mark.parametrize(
    "raw",
    [_ID, _ID.upper(), f'"{_ID}"', _ID.replace("-", ""), f"{{{_ID}}}", f"urn:uuid:{_ID}"],
)
def test_parse_uuid_returns_the_canonical_form(raw: str) -> None:
    assert parse_uuid("appointmentId", raw) == _ID


@pytest.mark.parametrize("raw", ["", "42", "not-a-uuid", _ID[:-1], _ID + "0", _ID.replace("a", "g", 1)])
def test_parse_uuid_refuses_malformed_ids(raw: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_uuid("appointmentId", raw)
    _assert_invalid(info, "appointmentId", raw)
    assert "is not a UUID" in info.value.message
