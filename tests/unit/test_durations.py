"""ISO 8601 durations: what the API accepts, what it refuses and how it writes them back."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from domain.durations import format_duration, parse_duration, parse_positive_duration, unquote

# --- unquote -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('"PT5M"', "PT5M"),
        ("PT5M", "PT5M"),
        ('  " PT5M "  ', "PT5M"),
        ('""', ""),
        ('"', '"'),  # a lone quote is not a quoted value
        ('"PT5M', '"PT5M'),  # unbalanced quotes are left alone
        ("  PT5M\n", "PT5M"),
    ],
)
def test_unquote(raw: str, expected: str) -> None:
    assert unquote(raw) == expected


# --- parse_duration: accepted forms --------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("PT5M", timedelta(minutes=5)),
        ("PT1H30M", timedelta(hours=1, minutes=30)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        ("P1W", timedelta(weeks=1)),
        ("P1D", timedelta(days=1)),
        ("PT45S", timedelta(seconds=45)),
        ("PT0.5S", timedelta(milliseconds=500)),
        ("PT0,5S", timedelta(milliseconds=500)),
        ("PT1,5H", timedelta(hours=1, minutes=30)),
        ("P1.5D", timedelta(days=1, hours=12)),
        ("PT0.000001S", timedelta(microseconds=1)),
        ("P1W2DT3H4M5S", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
        ("PT90M", timedelta(hours=1, minutes=30)),  # not normalised on input, just summed
        ("PT0S", timedelta(0)),
        ("pt5m", timedelta(minutes=5)),
        ("p1dt2h", timedelta(days=1, hours=2)),
        ('"PT5M"', timedelta(minutes=5)),
        (' "PT1H" ', timedelta(hours=1)),
    ],
)
def test_parse_duration_accepts(raw: str, expected: timedelta) -> None:
    assert parse_duration(raw) == expected


# --- parse_duration: refusals --------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "",
        '""',
        "P",
        "PT",
        "P1DT",  # a T must be followed by a time part
        "5M",
        "T5M",
        "PT5",  # number without unit
        "PTM",
        "PT5M5H",  # units out of order
        "P1H",  # hours belong after T
        "PT1D",  # days belong before T
        "PT.5S",
        "PT5.S",
        "PT-5M",
        "-PT5M",
        "PT5 M",
        "PT5M junk",
        "30 minutes",
    ],
)
def test_parse_duration_refuses_malformed(raw: str) -> None:
    with pytest.raises(ValueError, match="is not an ISO 8601 duration") as info:
        parse_duration(raw)
    # The message quotes the input as the client sent it.
    assert repr(raw) in str(info.value)


@pytest.mark.parametrize("raw", ["P1M", "P1Y", "P1Y2M", "P1MT1H", "p2m", '"P1Y"'])
def test_parse_duration_refuses_years_and_months_with_a_specific_reason(raw: str) -> None:
    with pytest.raises(ValueError, match="uses years or months, whose length varies"):
        parse_duration(raw)


def test_minutes_after_t_are_not_mistaken_for_months() -> None:
    assert parse_duration("PT1M") == timedelta(minutes=1)
    with pytest.raises(ValueError, match="is not an ISO 8601 duration"):
        parse_duration("PTXM")


# --- parse_positive_duration ---------------------------------------------------------------


def test_parse_positive_duration_accepts_a_positive_duration() -> None:
    assert parse_positive_duration("PT0.5S") == timedelta(milliseconds=500)
    assert parse_positive_duration('"P1DT2H"') == timedelta(days=1, hours=2)


@pytest.mark.parametrize("raw", ["PT0S", "P0D", "PT0M", "PT0.0S", "P0W"])
def test_parse_positive_duration_refuses_zero(raw: str) -> None:
    with pytest.raises(ValueError, match="must be longer than zero"):
        parse_positive_duration(raw)


def test_parse_positive_duration_refuses_a_negative_duration() -> None:
    with pytest.raises(ValueError, match="'-PT5M'"):
        parse_positive_duration("-PT5M")


def test_parse_positive_duration_keeps_the_months_reason() -> None:
    with pytest.raises(ValueError, match="years or months"):
        parse_positive_duration("P1M")


# --- format_duration -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (timedelta(0), "PT0S"),
        (timedelta(minutes=5), "PT5M"),
        (timedelta(hours=1, minutes=30), "PT1H30M"),
        (timedelta(days=1, hours=2), "P1DT2H"),
        (timedelta(days=1), "P1D"),
        (timedelta(weeks=1), "P7D"),
        (timedelta(seconds=45), "PT45S"),
        (timedelta(hours=2, seconds=3), "PT2H3S"),
        (timedelta(milliseconds=500), "PT0.5S"),
        (timedelta(seconds=1, microseconds=250_000), "PT1.25S"),
        (timedelta(microseconds=1), "PT0.000001S"),
        (timedelta(days=2, hours=3, minutes=4, seconds=5, microseconds=600_000), "P2DT3H4M5.6S"),
        (timedelta(minutes=-5), "-PT5M"),
    ],
)
def test_format_duration_canonical_form(value: timedelta, expected: str) -> None:
    assert format_duration(value) == expected


_ROUND_TRIP_CASES = [
    timedelta(0),
    timedelta(microseconds=1),
    timedelta(microseconds=999_999),
    timedelta(milliseconds=500),
    timedelta(seconds=1),
    timedelta(seconds=59, microseconds=999_999),
    timedelta(minutes=5),
    timedelta(minutes=90),
    timedelta(hours=1, minutes=30),
    timedelta(hours=23, minutes=59, seconds=59, microseconds=999_999),
    timedelta(days=1),
    timedelta(days=1, hours=2),
    timedelta(days=3, seconds=7, microseconds=123_456),
    timedelta(weeks=2, days=3, hours=4, minutes=5, seconds=6, microseconds=7),
    timedelta(days=365, hours=12),
    timedelta(days=999_999_999, hours=23, minutes=59, seconds=59, microseconds=999_999),
]


@pytest.mark.parametrize("value", _ROUND_TRIP_CASES, ids=str)
def test_format_then_parse_round_trips(value: timedelta) -> None:
    assert parse_duration(format_duration(value)) == value


def test_format_then_parse_round_trips_for_many_seeded_values() -> None:
    """A property check without hypothesis: many reproducible values, sub-second and multi-day."""
    rng = random.Random(20240131)
    for _ in range(2_000):
        value = timedelta(
            days=rng.choice([0, 0, 1, rng.randrange(1_000), rng.randrange(999_999_999)]),
            seconds=rng.randrange(86_400),
            microseconds=rng.choice([0, rng.randrange(1_000_000)]),
        )
        text = format_duration(value)
        assert parse_duration(text) == value, text
        # And the canonical form is a fixed point.
        assert format_duration(parse_duration(text)) == text


# --- out-of-range values are refused, not crashed on ---------------------------------------


@pytest.mark.parametrize("raw", ["P1000000000D", "PT99999999999999H"])
def test_parse_duration_refuses_out_of_range_values_with_value_error(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(raw)


def test_only_ascii_digits_count() -> None:
    with pytest.raises(ValueError):
        parse_duration("PT\u0665M")
