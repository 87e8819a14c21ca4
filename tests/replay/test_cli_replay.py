"""`appointments replay`, run as operators and CI run it: a separate process, its output and exit code."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from devstack.smtp_sink import SmtpSink
from domain.access import Principal, Role
from domain.commands import DELETE, SCHEDULE
from domain.lifecycle import ActorCommand
from domain.model import WorkflowPolicy
from domain.workflow_state import AppointmentState
from tests.support.factories import new_appointment, principal
from tests.support.secrets import TEST_SECRETS, session_settings
from tests.support.stack import temporal_cli
from tests.support.updates import update
from worker import build_worker
from workflows.appointment import AppointmentWorkflow, workflow_id

ROOT = Path(__file__).resolve().parents[2]
HISTORIES = Path(__file__).parent / "histories"
CONSOLE_SCRIPT = Path(sys.executable).parent / "appointments"


def _env() -> dict[str, str]:
    """The test process's environment without the Temporal and payload-key settings a developer
    may have exported: the subprocess must use the keys the tests' servers use (the session's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "PAYLOAD_"))}
    return {**env, "PAYLOAD_KEYS": TEST_SECRETS["PAYLOAD_KEYS"], "PAYLOAD_ACTIVE_KEY": "test"}


def _appointments(
    *args: str, command: tuple[str, ...] = (sys.executable, "-m", "cli")
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command, *args],
        check=False,
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _tampered(tmp_path: Path) -> Path:
    """deleted.json with the first scheduled activity renamed: the code no longer matches it."""
    history = json.loads((HISTORIES / "deleted.json").read_text())
    scheduled = next(
        event["activityTaskScheduledEventAttributes"]
        for event in history["events"]
        if "activityTaskScheduledEventAttributes" in event
    )
    scheduled["activityType"]["name"] = "renamed_activity"
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(history))
    return path


def test_the_stored_histories_replay_with_the_console_script() -> None:
    assert CONSOLE_SCRIPT.exists(), "pip install -e '.[embedded,test]' installs the `appointments` script"
    histories = sorted(HISTORIES.glob("*.json"))

    done = _appointments("replay", "tests/replay/histories", command=(str(CONSOLE_SCRIPT),))

    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[:-1] == [f"OK               tests/replay/histories/{path.name}" for path in histories]
    assert (
        lines[-1] == f"{len(histories)} histories replayed: {len(histories)} OK, 0 nondeterministic, 0 failed"
    )


def test_a_history_the_code_no_longer_matches_fails_the_replay(tmp_path: Path) -> None:
    tampered = _tampered(tmp_path)

    done = _appointments("replay", str(tampered), str(HISTORIES / "lifecycle.json"))

    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"NONDETERMINISTIC {tampered}: [TMPRL1100] Nondeterminism error")
    assert "renamed_activity" in lines[0]
    assert lines[1] == f"OK               {HISTORIES / 'lifecycle.json'}"
    assert lines[2] == "2 histories replayed: 1 OK, 1 nondeterministic, 0 failed"


def test_a_file_that_is_no_history_fails_the_replay(tmp_path: Path) -> None:
    (tmp_path / "a-broken.json").write_text("{not json")
    (tmp_path / "b-empty.json").write_text('{"events": []}')

    done = _appointments("replay", str(tmp_path))

    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"FAILED           {tmp_path / 'a-broken.json'}: ")
    assert lines[1].startswith(f"FAILED           {tmp_path / 'b-empty.json'}: not a workflow history")
    assert lines[2] == "2 histories replayed: 0 OK, 0 nondeterministic, 2 failed"


def test_an_empty_folder_is_a_failure(tmp_path: Path) -> None:
    done = _appointments("replay", str(tmp_path))

    assert done.returncode == 1
    assert done.stdout.splitlines() == ["no history to replay"]


async def _scheduled(client: Client, task_queue: str) -> tuple[WorkflowHandle, Principal]:
    """An appointment of its own application, so no webhook of another test fires."""
    agent = principal(Role.AGENT, application_id=str(uuid.uuid4()))
    appointment = new_appointment(agent)
    handle = await client.start_workflow(
        AppointmentWorkflow.run,
        AppointmentState(appointment=appointment, policy=WorkflowPolicy(end_grace=timedelta(minutes=10))),
        id=workflow_id(appointment.id),
        task_queue=task_queue,
    )
    await update(handle, SCHEDULE)
    return handle, agent


async def _closed_workflow(client: Client, task_queue: str) -> str:
    handle, agent = await _scheduled(client, task_queue)
    await update(handle, DELETE, ActorCommand(actor=agent))
    await handle.result()
    return handle.id


async def _listed(client: Client, query: str) -> None:
    for _ in range(100):  # visibility follows a start or a close shortly
        if [execution async for execution in client.list_workflows(query)]:
            return
        await asyncio.sleep(0.1)


async def _run(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *args,
        cwd=ROOT,
        env=_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_replays_closed_workflows_from_the_server_and_exported_histories(
    dev_server: WorkflowEnvironment,
    engine: AsyncEngine,
    mail_sink: SmtpSink,
    task_queue: str,
    tmp_path: Path,
) -> None:
    client = dev_server.client
    settings = session_settings({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mail_sink.port)})
    async with build_worker(client, settings, engine, task_queue=task_queue):
        wf_id = await _closed_workflow(client, task_queue)
    query = f"WorkflowType='AppointmentWorkflow' AND ExecutionStatus != 'Running' AND WorkflowId='{wf_id}'"
    await _listed(client, query)
    address = client.service_client.config.target_host

    code, output = await _run(
        sys.executable, "-m", "cli", "replay", "--server", "--address", address, "--query", query
    )

    assert code == 0, output
    assert f"OK               {wf_id} (run " in output
    assert "1 history replayed: 1 OK, 0 nondeterministic, 0 failed" in output

    # What an operator downloads with the Temporal CLI replays the same.
    code, exported = await _run(
        temporal_cli(), "workflow", "show", "--workflow-id", wf_id, "--output", "json", "--address", address
    )
    assert code == 0, exported
    path = tmp_path / f"{wf_id}.json"
    path.write_text(exported)

    code, output = await _run(sys.executable, "-m", "cli", "replay", str(path))

    assert code == 0, output
    assert output.splitlines()[-1] == "1 history replayed: 1 OK, 0 nondeterministic, 0 failed"


async def test_the_server_replay_takes_running_workflows_first(
    dev_server: WorkflowEnvironment, engine: AsyncEngine, mail_sink: SmtpSink, task_queue: str
) -> None:
    """By default: a deploy breaks running appointments, so those are replayed (as far as their
    histories go) before any closed one."""
    client = dev_server.client
    settings = session_settings({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mail_sink.port)})
    async with build_worker(client, settings, engine, task_queue=task_queue):
        await _closed_workflow(client, task_queue)
        running, _ = await _scheduled(client, task_queue)
    await _listed(client, f"WorkflowId='{running.id}' AND ExecutionStatus = 'Running'")
    address = client.service_client.config.target_host

    code, output = await _run(
        sys.executable, "-m", "cli", "replay", "--server", "--address", address, "--limit", "1"
    )

    assert code == 0, output
    assert f"OK               {running.id} (run " in output
    assert "1 history replayed: 1 OK, 0 nondeterministic, 0 failed" in output
    await running.terminate("test over")


async def test_an_unreachable_server_fails_the_replay() -> None:
    code, output = await _run(sys.executable, "-m", "cli", "replay", "--server", "--address", "127.0.0.1:1")

    # Non-zero: 1, or (rarely) an abort of the SDK's runtime while the interpreter shuts down.
    assert code != 0
    assert "cannot connect to Temporal at 127.0.0.1:1" in output
