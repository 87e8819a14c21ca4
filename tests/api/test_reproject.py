"""`appointments reproject` rebuilds read-model rows from their workflows."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import httpx
from sqlalchemy import text

from domain.access import Role
from tests.api.conftest import Stack, TokenFactory
from tests.support.requests import schedule_body
from tests.support.secrets import TEST_SECRETS

APPOINTMENTS = str(Path(sys.executable).parent / "appointments")


async def _reproject(stack: Stack, *args: str) -> tuple[int, str]:
    env = {
        **os.environ,
        **TEST_SECRETS,
        "DATABASE_URL": stack.settings.database_url,
        "TEMPORAL_ADDRESS": stack.settings.temporal_address,
    }
    process = await asyncio.create_subprocess_exec(
        APPOINTMENTS,
        "reproject",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def _sql(stack: Stack, statement: str, appointment_id: str) -> None:
    async with stack.engine.begin() as conn:
        await conn.execute(text(statement), {"id": uuid.UUID(appointment_id)})


async def test_lost_corrupt_and_ahead_rows_are_rebuilt(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory
) -> None:
    agent = auth(Role.AGENT)
    created = (await http.post("/api/appointments", json=schedule_body(), headers=agent)).json()
    appointment_id = created["id"]
    url = f"/api/appointments/{appointment_id}"

    await _sql(stack, "DELETE FROM appointments WHERE id = :id", appointment_id)
    assert (await http.get(url, headers=agent)).status_code == 404
    code, output = await _reproject(stack, "--id", appointment_id)
    assert code == 0 and "WRITTEN" in output, output
    assert (await http.get(url, headers=agent)).json() == created

    await _sql(
        stack,
        "UPDATE appointments SET version = 99, doc = jsonb_set(doc, '{title}', '\"corrupt\"') WHERE id = :id",
        appointment_id,
    )
    code, output = await _reproject(stack, "--id", appointment_id)
    assert code == 0 and "UP TO DATE" in output, output  # the guard protects newer rows ...
    code, output = await _reproject(stack, "--id", appointment_id, "--force")
    assert code == 0 and "WRITTEN" in output, output  # ... unless the operator insists
    assert (await http.get(url, headers=agent)).json() == created


async def test_unknown_workflows_are_reported(stack: Stack) -> None:
    code, output = await _reproject(stack, "--id", str(uuid.uuid4()))
    assert code == 1 and "FAILED" in output
    code, output = await _reproject(stack, "--id", "not-a-uuid")
    assert code != 0 and "UUID" in output
