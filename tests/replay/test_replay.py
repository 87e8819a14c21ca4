"""Replays stored histories of real runs against the current workflow code.

A change that would break running appointments (non-determinism) fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.replay.record_histories import BOUNDED_STATE, LOCAL_TIMED_MESSAGES
from tests.support.stack import service_data_converter
from worker_host import workflow_runner
from workflows.appointment import AppointmentWorkflow

HISTORIES = {
    path.stem: path.read_text() for path in sorted((Path(__file__).parent / "histories").glob("*.json"))
}


def test_there_are_histories_to_replay() -> None:
    assert set(HISTORIES) >= {
        "lifecycle",
        "deleted",
        "expired",
        "participants",
        "notified",
        "continued",
        "webhooks",
        "lifecycle_local_calls",
        "notified_local_calls",
        "continued_local_calls",
        "webhooks_local_calls",
        *(f"{name}_bounded_state" for name in BOUNDED_STATE),
        "ended_continued",
        "dead_receiver_continued",
        *(f"{name}_local_timed_messages" for name in LOCAL_TIMED_MESSAGES),
    }


# In the sandbox (which would also catch a non-deterministic call) and without it, as the
# worker runs by default (WORKER_WORKFLOW_SANDBOX).
@pytest.mark.parametrize("sandboxed", [True, False], ids=["sandboxed", "unsandboxed"])
@pytest.mark.parametrize("name", list(HISTORIES))
async def test_history_replays_without_nondeterminism(name: str, sandboxed: bool) -> None:
    history = WorkflowHistory.from_json(f"replay-{name}", json.loads(HISTORIES[name]))
    result = await Replayer(
        workflows=[AppointmentWorkflow],
        data_converter=service_data_converter(),
        workflow_runner=workflow_runner(sandboxed),
    ).replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
