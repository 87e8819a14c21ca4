"""Rate-limit tests against fixed windows: a test's counts must fall into one window."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

from domain.rate_limits import Limit
from storage.rate_limits import window_start


async def within_one_window(*limits: Limit, seconds: float = 20) -> None:
    """Wait, if need be, until the windows of `limits` have `seconds` left: the counts of a test
    must not straddle two fixed windows."""
    now = datetime.now(UTC)
    left = min((window_start(limit, now) + limit.window - now).total_seconds() for limit in limits)
    if left < seconds:
        await asyncio.sleep(left + 0.1)  # windows start at multiples of their length: all at once


def client_network() -> str:
    """A /64 of the documentation prefix that no other test of the session uses (as good as): a
    client of its own, as the proxy in front of the API forwards it (`X-Forwarded-For`)."""
    return f"2001:db8:{random.randint(1, 0xFFFF):x}:{random.randint(1, 0xFFFF):x}"
