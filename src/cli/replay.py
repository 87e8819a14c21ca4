"""`replay`: replay workflow histories against the current workflow code.

A history is replayed by the SDK's `Replayer` exactly as a worker would after a restart: if the
current code no longer issues the commands the history recorded, that is a non-determinism error,
and running workflows with such a history would get stuck on deploy. Histories come from JSON files
(Temporal UI "Download", `temporal workflow show --output json`), folders of them, or the recent
closed executions of a Temporal server.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import re
import sys
from collections import deque
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TextIO

from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.service import RPCError
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from config import Settings, load_settings
from temporal_access.client import connect, data_converter_for
from workflows.appointment import WORKFLOW_NAME, AppointmentWorkflow

# Running executions first, since those are what a deploy breaks; then closed ones, newest first.
DEFAULT_QUERIES = (
    f"WorkflowType='{WORKFLOW_NAME}' AND ExecutionStatus = 'Running'",
    f"WorkflowType='{WORKFLOW_NAME}' AND ExecutionStatus != 'Running'",
)
DEFAULT_LIMIT = 100

Labelled = tuple[str, WorkflowHistory]


class Report:
    """One line per history as it is replayed, then a summary and the exit code."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout
        self.ok = 0
        self.nondeterministic = 0
        self.failed = 0

    def record(self, label: str, failure: BaseException | None) -> None:
        if failure is None:
            self.ok += 1
            self._line(f"{'OK':<17}{label}")
            return
        if isinstance(failure, NondeterminismError):
            self.nondeterministic += 1
            status = "NONDETERMINISTIC"
        else:
            self.failed += 1
            status = "FAILED"
        self._line(f"{status:<17}{label}: {describe(failure)}")

    @property
    def total(self) -> int:
        return self.ok + self.nondeterministic + self.failed

    def finish(self, *, none_is_failure: bool) -> int:
        """Print the summary; 1 on any non-determinism or failure (or no history, if that is one)."""
        if self.total == 0:
            self._line("no history to replay")
            return 1 if none_is_failure else 0
        self._line(
            f"{self.total} {'history' if self.total == 1 else 'histories'} replayed: {self.ok} OK, "
            f"{self.nondeterministic} nondeterministic, {self.failed} failed"
        )
        return 0 if self.ok == self.total else 1

    def _line(self, text: str) -> None:
        print(text, file=self._out, flush=True)


_CORE_MESSAGE = re.compile(r'message: "((?:[^"\\]|\\.)*)"')


def describe(failure: BaseException) -> str:
    """The SDK core's own message (`[TMPRL1100] Nondeterminism error: ...`) when there is one."""
    text = str(failure)
    match = _CORE_MESSAGE.search(text)
    message = match.group(1) if match else text or type(failure).__name__
    return " ".join(message.split())


async def replay(histories: AsyncIterator[Labelled], report: Report, data_converter: DataConverter) -> None:
    """Replay each history in turn, recording its outcome under its label."""
    labels: deque[str] = deque()

    async def unlabelled() -> AsyncIterator[WorkflowHistory]:
        async for label, history in histories:
            # The SDK core gives up (and hangs) on a history not starting with the workflow's start.
            if not history.events or not history.events[0].HasField(
                "workflow_execution_started_event_attributes"
            ):
                report.record(
                    label, ValueError("not a workflow history: no WorkflowExecutionStarted event first")
                )
                continue
            labels.append(label)
            yield history

    replayer = Replayer(
        workflows=[AppointmentWorkflow],
        data_converter=data_converter,
        # The SDK core would print its own warning for every failing history; ours says it once.
        runtime=Runtime(
            telemetry=TelemetryConfig(
                logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
            )
        ),
    )
    async with replayer.workflow_replay_iterator(unlabelled()) as results:
        # Histories are replayed one after the other: results come back in the order given.
        async for result in results:
            report.record(labels.popleft(), result.replay_failure)


def history_files(paths: Sequence[Path]) -> list[Path]:
    """The files given, and the `*.json` files of the folders given, in order."""
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
    return files


async def from_files(files: Sequence[Path], report: Report) -> AsyncIterator[Labelled]:
    """Histories exported as JSON (`{"events": [...]}`); one that cannot be read is a failure."""
    for path in files:
        try:
            # The file's name stands in for the workflow id, which the export does not carry.
            history = WorkflowHistory.from_json(path.stem, path.read_text())
        except Exception as error:
            report.record(str(path), error)
            continue
        yield str(path), history


async def from_server(
    client: Client, queries: Sequence[str], limit: int, report: Report
) -> AsyncIterator[Labelled]:
    """The histories of the executions each visibility query lists in turn, newest first, at most
    `limit` in all. A running execution's history is replayed as far as it has gone."""
    left = limit
    for query in queries:
        try:
            async for execution in client.list_workflows(query, limit=left):
                label = f"{execution.id} (run {execution.run_id})"
                left -= 1
                try:
                    handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
                    history = await handle.fetch_history()
                except RPCError as error:
                    report.record(label, error)
                    continue
                yield label, history
        except RPCError as error:
            report.record(f"listing workflows ({query})", error)
        if left <= 0:
            return


async def replay_files(paths: Sequence[Path], settings: Settings, report: Report) -> int:
    files = history_files(paths)
    await replay(from_files(files, report), report, data_converter_for(settings))
    return report.finish(none_is_failure=True)


async def replay_server(settings: Settings, queries: Sequence[str], limit: int, report: Report) -> int:
    try:
        client = await connect(settings)
    except Exception as error:
        print(
            f"cannot connect to Temporal at {settings.temporal_address} "
            f"(namespace {settings.temporal_namespace}): {describe(error)}",
            file=sys.stderr,
            flush=True,
        )
        return 1
    await replay(from_server(client, queries, limit, report), report, data_converter_for(settings))
    return report.finish(none_is_failure=False)


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number <= 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "replay",
        help="replay workflow histories against the current code (exit 1 on non-determinism)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Replay workflow histories against the current AppointmentWorkflow code and print one\n"
            "line per history (OK, NONDETERMINISTIC or FAILED) and a summary. Exits 1 if any\n"
            "history does not replay, 0 otherwise. Payloads are decrypted with PAYLOAD_KEYS.\n"
            "See docs/workflows.md."
        ),
        epilog=(
            "examples:\n"
            "  appointments replay tests/replay/histories\n"
            "  appointments replay appointment-1234.json\n"
            "  appointments replay --server --address temporal.internal:7233 --namespace appointments"
        ),
    )
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="a history JSON file (Temporal UI 'Download', `temporal workflow show --output json`) "
        "or a folder of *.json files",
    )
    parser.add_argument(
        "--server",
        action="store_true",
        help="replay the executions of a Temporal server instead of files: the running ones, then "
        "the recent closed ones",
    )
    parser.add_argument(
        "--address",
        help="host:port of the Temporal frontend (default: TEMPORAL_ADDRESS or 127.0.0.1:TEMPORAL_PORT)",
    )
    parser.add_argument("--namespace", help="Temporal namespace (default: TEMPORAL_NAMESPACE)")
    parser.add_argument(
        "--query",
        help="visibility query selecting the executions (default: " + ", then ".join(DEFAULT_QUERIES) + ")",
    )
    parser.add_argument(
        "--limit",
        type=_positive,
        metavar="N",
        help=f"replay at most N executions, newest first (default: {DEFAULT_LIMIT})",
    )
    parser.set_defaults(handler=_replay, parser=parser)


def _replay(args: argparse.Namespace) -> int:
    parser: argparse.ArgumentParser = args.parser
    server_options = [args.address, args.namespace, args.query, args.limit]
    if args.server and args.paths:
        parser.error("give history files or folders, or --server, not both")
    if not args.server and not args.paths:
        parser.error("give history files or folders, or --server")
    if not args.server and any(option is not None for option in server_options):
        parser.error("--address, --namespace, --query and --limit go with --server")
    settings = load_settings()
    report = Report()
    if not args.server:
        return asyncio.run(replay_files(args.paths, settings, report))
    settings = dataclasses.replace(
        settings,
        temporal_address_override=args.address or settings.temporal_address_override,
        temporal_namespace=args.namespace or settings.temporal_namespace,
    )
    return asyncio.run(
        replay_server(
            settings, (args.query,) if args.query else DEFAULT_QUERIES, args.limit or DEFAULT_LIMIT, report
        )
    )
