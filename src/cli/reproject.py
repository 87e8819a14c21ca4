"""`reproject`: rebuild read-model rows from the workflows, the source of truth.

For an open workflow its query `appointment` gives the current state; for a closed one, its
result. Rows only move forward in `version` unless `--force` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from config import load_settings
from domain import values
from domain.errors import DomainError
from domain.model import Appointment
from storage.appointments import AppointmentStore
from storage.database import create_engine
from temporal_access.client import connect
from workflows.appointment import WORKFLOW_NAME, AppointmentWorkflow, workflow_id


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "reproject",
        help="rebuild read-model rows from their workflows",
        description="Write each appointment's state, as its workflow knows it, into the read model.",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", action="append", dest="ids", metavar="APPOINTMENT_ID", help="one appointment")
    which.add_argument("--all", action="store_true", help="every appointment workflow Temporal still knows")
    parser.add_argument("--application", help="with --all: only this application's appointments")
    parser.add_argument(
        "--force", action="store_true", help="overwrite rows even when they claim a higher version"
    )
    parser.set_defaults(handler=lambda args: asyncio.run(_reproject(args)))


async def _state(client: Client, appointment_id: str) -> Appointment:
    handle = client.get_workflow_handle(workflow_id(appointment_id))
    if (await handle.describe()).status is WorkflowExecutionStatus.RUNNING:
        return await handle.query(AppointmentWorkflow.appointment)
    return await handle.result()


async def _ids(client: Client, args: argparse.Namespace) -> list[str]:
    if args.ids:
        try:
            return [values.parse_uuid("id", raw) for raw in args.ids]
        except DomainError as error:
            raise SystemExit(f"appointments reproject: {error.message}") from None
    query = f"WorkflowType = '{WORKFLOW_NAME}'"
    if args.application:
        query += f" AND ApplicationId = '{args.application}'"
    prefix = workflow_id("")
    return [w.id.removeprefix(prefix) async for w in client.list_workflows(query) if w.id.startswith(prefix)]


async def _reproject(args: argparse.Namespace) -> int:
    settings = load_settings()
    client = await connect(settings)
    engine = create_engine(settings.database_url)
    store = AppointmentStore(engine)
    failures = 0
    try:
        for appointment_id in dict.fromkeys(await _ids(client, args)):
            try:
                appointment = await _state(client, appointment_id)
            except RPCError as error:
                failures += 1
                print(f"FAILED     {appointment_id}: {error}", file=sys.stderr)
                continue
            written = await store.project(appointment, force=args.force)
            print(
                f"{'WRITTEN' if written else 'UP TO DATE':<11}{appointment_id} version {appointment.version}"
            )
    finally:
        await engine.dispose()
    return 1 if failures else 0
