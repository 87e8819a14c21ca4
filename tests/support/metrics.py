"""Reading a Prometheus scrape as Prometheus stores it."""

from __future__ import annotations

import re

# The metric name that starts a sample line of the text exposition format (comments start with #).
_SERIES_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def exposed_names(text: str) -> set[str]:
    """The series names of a scrape in the text format, as written there: the names Prometheus
    stores. (The parser of prometheus_client adds `_total` to counters that the Temporal SDK
    exports without it, so it cannot tell what a query must name.)"""
    return {match[0] for line in text.splitlines() if (match := _SERIES_NAME.match(line))}
