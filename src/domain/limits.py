"""Bounds on everything a client can make the service hold, computed with or send.

Every value that reaches an appointment's workflow is checked against these at the API (and the
appointment as a whole again by the workflow's update validators, `domain.lifecycle`), so that
the workflow and the queries can always compute with it: no date arithmetic overflows, no
payload nears Temporal's limits (2 MB per payload, 50 MB and 51,200 events per history), and no
request makes every later change of an appointment fail. A value beyond a bound is a 400 (a
malformed or out-of-range value) or a 413 (too much), naming the field.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from domain.errors import too_large

# Any timestamp a client sends: far from the edges of what datetime and its time zones can hold.
EARLIEST_TIMESTAMP = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_TIMESTAMP = datetime(3000, 1, 1, tzinfo=UTC)
# How far ahead an appointment may start.
SCHEDULING_HORIZON = timedelta(days=730)
# A video call longer than a day is almost certainly a unit mistake (P1D for PT1H).
MAX_DURATION = timedelta(days=1)
# The window of the eligible list: one request cannot ask for a scan of all time.
MAX_TIME_FRAME = timedelta(days=366)
# The windows of the public counts, which anyone may call without a token: each counts every open
# appointment of its window, and the per-slot count answers a row per slot. A month keeps both to
# hundreds of rows (a few milliseconds at 1,000,000 appointments) rather than a year's thousands.
MAX_COUNT_TIME_FRAME = timedelta(days=31)
# Reminders before the start and follow-ups after the end, within reason.
MAX_TEMPLATE_PERIOD = timedelta(days=30)

# People in one appointment: its organizer, agents and customers.
MAX_PARTICIPANTS = 20
# Each map of the client's own data (metadata, custom fields, routing properties).
MAX_MAP_ENTRIES = 50
MAX_MAP_BYTES = 8 * 1024
# The whole appointment as the workflow holds it (JSON): every event and message carries it.
MAX_APPOINTMENT_BYTES = 64 * 1024
# An application's settings (its templates), which every new appointment takes a copy of.
MAX_SETTINGS_BYTES = 128 * 1024


def encoded_size(value: Any) -> int:
    return len(msgspec.json.encode(value))


def check_map(field: str, value: dict[str, Any]) -> None:
    if len(value) > MAX_MAP_ENTRIES:
        raise too_large(field, f"{field}: at most {MAX_MAP_ENTRIES} entries")
    if encoded_size(value) > MAX_MAP_BYTES:
        raise too_large(field, f"{field}: at most {MAX_MAP_BYTES // 1024} KiB as JSON")
