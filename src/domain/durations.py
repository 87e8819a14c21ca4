"""ISO 8601 durations (`PT5M`, `P1DT2H`) as used by the API, to and from `timedelta`.

Years and months are refused: their length depends on the calendar, and an appointment's
length must not.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache

from domain.errors import shown

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<weeks>[0-9]+(?:[.,][0-9]+)?)W)?(?:(?P<days>[0-9]+(?:[.,][0-9]+)?)D)?"
    r"(?:T(?=[0-9])(?:(?P<hours>[0-9]+(?:[.,][0-9]+)?)H)?(?:(?P<minutes>[0-9]+(?:[.,][0-9]+)?)M)?"
    r"(?:(?P<seconds>[0-9]+(?:[.,][0-9]+)?)S)?)?$"
)


def unquote(raw: str) -> str:
    """The contract's own examples wrap values in double quotes (`"\\"PT5M\\""`): accept both."""
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return raw[1:-1].strip()
    return raw


def parse_duration(raw: str) -> timedelta:
    """Parse a non-negative ISO 8601 duration; raise ValueError with a readable reason."""
    text = unquote(raw).upper()
    match = _DURATION.match(text)
    if not match:
        date_section = text.split("T", 1)[0]
        if text.startswith("P") and ("Y" in date_section or "M" in date_section):
            raise ValueError(f"{shown(raw)} uses years or months, whose length varies; use days or hours")
        raise ValueError(f"{shown(raw)} is not an ISO 8601 duration such as PT30M or P1DT2H")
    parts = {k: float(v.replace(",", ".")) for k, v in match.groupdict().items() if v is not None}
    try:
        return timedelta(**parts)
    except OverflowError:
        raise ValueError(f"{shown(raw)} is too long to be a duration") from None


def parse_positive_duration(raw: str) -> timedelta:
    value = parse_duration(raw)
    if value <= timedelta(0):
        raise ValueError(f"{shown(raw)} must be longer than zero")
    return value


# Every view of an appointment formats its duration, and appointments share a few durations.
@lru_cache(maxsize=1024)
def format_duration(value: timedelta) -> str:
    """Canonical form: `PT5M`, `PT1H30M`, `P1DT2H`, `PT0S`; sub-second parts are kept."""
    if value < timedelta(0):
        return "-" + format_duration(-value)
    days = value.days
    seconds = value.seconds
    micros = value.microseconds
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    date_part = f"{days}D" if days else ""
    time_part = ""
    if hours:
        time_part += f"{hours}H"
    if minutes:
        time_part += f"{minutes}M"
    if secs or micros:
        time_part += f"{secs}.{micros:06d}".rstrip("0").rstrip(".") + "S" if micros else f"{secs}S"
    if not date_part and not time_part:
        return "PT0S"
    return "P" + date_part + ("T" + time_part if time_part else "")
