"""Where a workflow task's time goes, from the worker's own Temporal SDK metrics.

The worker serves them on WORKER_METRICS_PORT (Prometheus text). Two scrapes around a round give,
for the workflow tasks of that round: how long each waited in Temporal's queue for a poll
(`schedule_to_start`) and how long the worker took to run it (`execution`), and the same for its
local activities. What the latencies of a round alone cannot tell apart: a slow worker or a task
that sat in a queue. The worker's own garbage-collection pauses come from the same endpoint
(`scrape_gc_pauses`): a full collection stops every workflow task of the process at once.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Mapping

from prometheus_client.parser import text_string_to_metric_families

from domain.metric_names import WORKER_GC_PAUSE

HISTOGRAMS = (
    ("workflow task, queued", "temporal_workflow_task_schedule_to_start_latency"),
    ("workflow task, run", "temporal_workflow_task_execution_latency"),
    ("local activity, run", "temporal_local_activity_execution_latency"),
)
_SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{[^}]*\})? (?P<value>[-+.eE0-9]+|NaN)$")


def _metrics_text(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return response.read().decode()


def scrape(port: int | None) -> dict[str, float]:
    """Sums and counts of the histograms above, over all their label sets (none without a port)."""
    if not port:
        return {}
    text = _metrics_text(port)
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


# (series, generation, le) to value.
GcSamples = Mapping[tuple[str, str, str], float]


def scrape_gc_pauses(port: int | None) -> GcSamples:
    """The worker's garbage-collection pauses (none without a port)."""
    if not port:
        return {}
    samples: dict[tuple[str, str, str], float] = {}
    for family in text_string_to_metric_families(_metrics_text(port)):
        if family.name != WORKER_GC_PAUSE.name:
            continue
        for sample in family.samples:
            le = sample.labels.get("le", "")
            # Bucket bounds as the bench names them ("1.0"), however the exporter writes them.
            bound = le if le in ("", "+Inf") else repr(float(le))
            key = (sample.name.removeprefix(f"{family.name}_"), sample.labels.get("generation", ""), bound)
            samples[key] = samples.get(key, 0.0) + sample.value
    return samples


def gc_pauses_between(before: GcSamples, after: GcSamples) -> str:
    """Per generation, between two scrapes: collections, seconds paused in all, and how many
    full collections paused the worker for a second or more."""

    def grown(series: str, generation: str, le: str = "") -> float:
        return after.get((series, generation, le), 0.0) - before.get((series, generation, le), 0.0)

    if not after:
        return "worker GC pauses: not exported (WORKER_METRICS_PORT=0)"
    parts = [
        f"generation {g}: {grown('count', g):.0f} collections, {grown('sum', g):.2f} s"
        for g in ("0", "1", "2")
    ]
    long_ones = grown("bucket", "2", "+Inf") - grown("bucket", "2", "1.0")
    return "worker GC pauses: " + "; ".join(parts) + f"; full collections of 1 s or more: {long_ones:.0f}"
