"""The Temporal worker: hosts `AppointmentWorkflow` and the activities it calls.

Run with `python worker.py` (or `appointments worker`); it reads its configuration from the
environment (see README). The code lives in the `worker_host` package (src/worker_host/), so the
installed CLI can run it too; this script re-exports it.
"""

from __future__ import annotations

from worker_host import build_worker, connect_temporal, main, run

__all__ = ["build_worker", "connect_temporal", "main", "run"]

if __name__ == "__main__":
    run()
