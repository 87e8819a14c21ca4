"""The worker's garbage-collection pauses, as a metric on its endpoint.

Every workflow a worker holds in its cache (WORKER_MAX_CACHED_WORKFLOWS) is a few hundred Python
objects that live as long as it does: its tasks, coroutines and handlers. A full collection of
Python's cyclic garbage collector walks every one of them while nothing else in the process moves,
no workflow task and no activity: about 2 s at 20,000 cached workflows on a two-core machine
(docs/BENCHMARKS.md, timers), growing with the cache. Each collection's duration is recorded, by
generation, so that an operator sees the stalls a large cache costs before its reminders show them.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from temporalio.common import MetricHistogramFloat, MetricMeter

from domain.metric_names import WORKER_GC_PAUSE


class GcPauses:
    """A `gc.callbacks` entry: the time from each collection's start to its stop."""

    def __init__(self, meter: MetricMeter) -> None:
        histogram = meter.create_histogram_float(WORKER_GC_PAUSE.name, WORKER_GC_PAUSE.help, "s")
        self._by_generation: tuple[MetricHistogramFloat, ...] = tuple(
            histogram.with_additional_attributes({"generation": str(generation)})
            for generation in range(len(gc.get_threshold()))
        )
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        # Collections never overlap: the collector holds the GIL from its start to its stop.
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self._by_generation[info["generation"]].record(time.perf_counter() - self._started)


@contextmanager
def recording_gc_pauses(meter: MetricMeter) -> Iterator[None]:
    """Record every collection of this process into `meter` while the block runs."""
    pauses = GcPauses(meter)
    gc.callbacks.append(pauses)
    try:
        yield
    finally:
        gc.callbacks.remove(pauses)
