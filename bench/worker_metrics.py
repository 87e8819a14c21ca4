"""Where a workflow task's time goes, from the worker's own Temporal SDK metrics.

The worker serves them on WORKER_METRICS_PORT (Prometheus text). Two scrapes around a round give,
for the workflow tasks of that round: how long each waited in Temporal's queue for a poll
(`schedule_to_start`) and how long the worker took to run it (`execution`), and the same for its
local activities. What the latencies of a round alone cannot tell apart: a slow worker or a task
that sat in a queue.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Mapping

HISTOGRAMS = (
    ("workflow task, queued", "temporal_workflow_task_schedule_to_start_latency"),
    ("workflow task, run", "temporal_workflow_task_execution_latency"),
    ("local activity, run", "temporal_local_activity_execution_latency"),
)
_SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{[^}]*\})? (?P<value>[-+.eE0-9]+|NaN)$")


def scrape(port: int | None) -> dict[str, float]:
    """Sums and counts of the histograms above, over all their label sets (none without a port)."""
    if not port:
        return {}
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    totals: dict[str, float] = {}
    wanted = {f"{name}{suffix}" for _, name in HISTOGRAMS for suffix in ("_sum", "_count")}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and match["name"] in wanted:
            totals[match["name"]] = totals.get(match["name"], 0.0) + float(match["value"])
    return totals


def between(before: Mapping[str, float], after: Mapping[str, float]) -> str:
    """The mean of each histogram between two scrapes, in milliseconds, on one line."""
    parts = []
    for label, name in HISTOGRAMS:
        count = after.get(f"{name}_count", 0.0) - before.get(f"{name}_count", 0.0)
        total = after.get(f"{name}_sum", 0.0) - before.get(f"{name}_sum", 0.0)
        # The SDK's histograms are in milliseconds.
        parts.append(f"{label} {total / count:.1f} ms (n={count:.0f})" if count else f"{label} -")
    return "worker: " + ", ".join(parts)
