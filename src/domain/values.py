"""Parsing of the scalar values clients send: timestamps, time zones, locales, durations.

Each parser raises `DomainError(INVALID)` naming the field, so that the API can answer a
400 that says exactly what to fix.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.durations import format_duration, parse_positive_duration, unquote
from domain.errors import invalid, shown
from domain.limits import EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, MAX_DURATION
from domain.text import is_multi_line, is_one_line

T = TypeVar("T")

_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,12}")


def parse_timestamp(field: str, raw: str) -> datetime:
    """An ISO 8601 timestamp; one without an offset is read as UTC, as the contract says."""
    text = unquote(raw)
    try:
        value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise invalid(
            field, f"{field}: {shown(raw)} is not an ISO 8601 timestamp such as 2030-01-31T19:00:00Z"
        ) from None
    if not EARLIEST_TIMESTAMP <= value < LATEST_TIMESTAMP:
        years = f"{EARLIEST_TIMESTAMP.year} to {LATEST_TIMESTAMP.year - 1}"
        raise invalid(field, f"{field}: {shown(raw)} is outside the years {years}")
    return value


def parse_duration_field(field: str, raw: str, maximum: timedelta | None = MAX_DURATION) -> timedelta:
    try:
        value = parse_positive_duration(raw)
    except ValueError as exc:
        raise invalid(field, f"{field}: {exc}") from None
    if maximum is not None and value > maximum:
        longest = format_duration(maximum)
        raise invalid(field, f"{field}: {shown(raw)} is longer than the maximum of {longest}")
    return value


def parse_timezone(field: str, raw: str) -> str:
    name = unquote(raw)
    # ZoneInfo also accepts file paths relative to the tz database; only names are wanted.
    if not name or name.startswith(("/", ".")) or ".." in name:
        raise invalid(field, f"{field}: {shown(raw)} is not an IANA time zone such as Europe/Berlin")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        message = f"{field}: {shown(raw)} is not an IANA time zone such as Europe/Berlin"
        raise invalid(field, message) from None
    return name


def parse_locale(field: str, raw: str) -> str:
    value = unquote(raw)
    if not _LOCALE.match(value):
        raise invalid(field, f"{field}: {shown(raw)} is not a locale such as en-GB")
    return value


def parse_uuid(field: str, raw: str) -> str:
    """Appointment ids are UUIDs; anything else is a malformed request, not a missing one."""
    if _CANONICAL_UUID.fullmatch(raw):
        # Already the canonical form that ids are returned in: the common case, on every read.
        return raw
    try:
        return str(uuid.UUID(unquote(raw)))
    except ValueError:
        raise invalid(field, f"{field}: {shown(raw)} is not a UUID") from None


# Ids other than UUIDs (application and user ids come from the identity provider).
MAX_ID_LENGTH = 100


def parse_id(field: str, raw: str) -> str:
    """An application, user or participant id: 1 to MAX_ID_LENGTH characters."""
    # Checked before the quotes and the blanks around them go: none of them is in an id.
    if not is_one_line(raw):
        raise invalid(field, f"{field}: control characters and line breaks are not allowed")
    value = unquote(raw)
    if not 1 <= len(value) <= MAX_ID_LENGTH:
        raise invalid(field, f"{field}: must be 1 to {MAX_ID_LENGTH} characters")
    return value


def parse_text(field: str, raw: str, multiline: bool = False) -> str:
    """Free text as the contract's examples send it: `"\\"Product installation review\\""`.

    A value that is itself a JSON string literal is read as the text it quotes (its `\\n` become
    line breaks), and held to the text rule again; any other value is taken as it is.
    """
    stripped = raw.strip()
    if len(stripped) < 2 or stripped[0] != '"' or stripped[-1] != '"':
        return raw
    try:
        text = json.loads(stripped)
    except ValueError:
        return raw
    if not isinstance(text, str):
        return raw
    if not (is_multi_line(text) if multiline else is_one_line(text)):
        kind = "control characters" if multiline else "control characters and line breaks"
        raise invalid(field, f"{field}: {kind} are not allowed")
    return text


def parse_multiline_text(field: str, raw: str) -> str:
    """`parse_text` for a field that may span lines (notes, message bodies)."""
    return parse_text(field, raw, multiline=True)


def parse_url_base(field: str, raw: str) -> str:
    """An http(s) URL that paths are appended to: no query, no fragment, no trailing slash."""
    url = unquote(raw).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise invalid(field, f"{field}: {shown(raw)} is not an http(s) URL such as https://video.example.com")
    if parts.query or parts.fragment:
        raise invalid(field, f"{field}: {shown(raw)} must not have a query or a fragment")
    return url


def optional(parse: Callable[[str, str], str], field: str, raw: T) -> T | str:
    """`parse(field, raw)` for a string; anything else (None, UNSET) as it is."""
    return parse(field, raw) if isinstance(raw, str) else raw


def parse_whole_number(field: str, raw: str, minimum: int | None = None) -> int:
    """A whole number of at most 12 digits, as a query parameter spells it."""
    text = unquote(raw)
    # ASCII digits only: str.isdigit() also accepts superscripts, which int() refuses.
    if not _WHOLE_NUMBER.fullmatch(text):
        raise invalid(field, f"{field}: {shown(raw)} is not a whole number")
    value = int(text)
    if minimum is not None and value < minimum:
        raise invalid(field, f"{field}: must be at least {minimum}")
    return value


def _list_items(raw: Iterable[str]) -> list[str]:
    """A query parameter's values, repeated or comma-separated alike, each unquoted."""
    return [unquote(part) for value in raw for part in value.split(",")]


def parse_list(raw: Iterable[str]) -> list[str]:
    """A list of plain strings; empty ones left out."""
    return [item for item in _list_items(raw) if item]


def parse_typed_list(field: str, raw: Iterable[str]) -> list[str]:
    """A list whose items are typed (date-times, durations): an empty one is refused, since an
    empty string is no date-time or duration, as an empty typed query value is none."""
    parts = _list_items(raw)
    if not all(parts):
        raise invalid(field, f"{field}: an empty value is not allowed; leave the parameter out instead")
    return parts


def parse_time_range(field: str, raw: Iterable[str]) -> tuple[datetime, datetime] | None:
    """A start and an end, comma-separated (or repeated); none when no value is given."""
    parts = parse_typed_list(field, raw)
    if not parts:
        return None
    if len(parts) != 2:
        raise invalid(field, f"{field}: give a start and an end, comma-separated (start,end)")
    start, end = (parse_timestamp(field, item) for item in parts)
    if end < start:
        raise invalid(field, f"{field}: the end is before the start")
    return start, end
