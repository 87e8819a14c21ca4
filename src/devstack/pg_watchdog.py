"""`python -m devstack.pg_watchdog OWNER_PID PGDATA`: stop PGDATA's server once OWNER_PID is gone.

The postmaster outlives its starter by design; a test run killed by a timeout (SIGTERM, SIGKILL: no
finaliser runs) would otherwise leave one server per run behind, under a temp dir that pytest later
deletes. Started by `EmbeddedPostgres(stop_with_owner=True)` in a session of its own, so the signal
that kills the owner's process group does not reach it.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from pathlib import Path

import psutil

from devstack.postgres import EmbeddedPostgres


def main(argv: list[str]) -> int:
    owner_pid, pgdata = int(argv[0]), Path(argv[1])
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    with contextlib.suppress(psutil.NoSuchProcess):
        psutil.Process(owner_pid).wait()
    EmbeddedPostgres(pgdata).stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
