"""`dev`, `api`, `worker`, `migrate`: the service's processes, started by their own entry points."""

from __future__ import annotations

import argparse

from sqlalchemy.engine import make_url

import worker_host
from api.__main__ import main as serve_api
from config import load_settings
from storage.migrations import upgrade


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dev = commands.add_parser(
        "dev",
        help="the whole stack on this machine (what `make run` starts)",
        description="Start embedded PostgreSQL, the Temporal dev server, the SMTP sink, the worker "
        "and the API, print URLs and demo tokens, stop everything on Ctrl-C (`python -m devstack`). "
        "Needs the `embedded` extra.",
    )
    dev.set_defaults(handler=_dev)
    api = commands.add_parser(
        "api",
        help="serve the HTTP API on HTTP_PORT",
        description="Serve the API with uvicorn on HTTP_PORT (`python -m api`).",
    )
    api.set_defaults(handler=_api)
    worker = commands.add_parser(
        "worker",
        help="run the Temporal worker",
        description="Poll TEMPORAL_TASK_QUEUE for the appointment workflow and its activities until "
        "SIGINT or SIGTERM (`python worker.py`).",
    )
    worker.set_defaults(handler=_worker)
    migrate = commands.add_parser(
        "migrate",
        help="apply the database migrations",
        description="Upgrade the read model at DATABASE_URL (default: the embedded PostgreSQL of "
        "DATA_DIR) to the latest Alembic revision.",
    )
    migrate.set_defaults(handler=_migrate)


def _dev(args: argparse.Namespace) -> int:
    # Imported when asked for: the embedded servers are an extra, absent from the production image.
    from devstack.__main__ import main  # noqa: PLC0415

    return main()


def _api(args: argparse.Namespace) -> int:
    serve_api()
    return 0


def _worker(args: argparse.Namespace) -> int:
    worker_host.run()
    return 0


def _migrate(args: argparse.Namespace) -> int:
    url = load_settings().database_url
    upgrade(url)
    print(f"migrated {make_url(url).render_as_string(hide_password=True)} to the latest revision")
    return 0
