"""Sending a command of domain.commands to a workflow handle, as the API's gateway does."""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle

from domain.commands import Command


async def update(handle: WorkflowHandle[Any, Any], command: Command, argument: Any = None) -> Any:
    if command.argument is None:
        return await handle.execute_update(command.name, result_type=command.result)
    return await handle.execute_update(command.name, argument, result_type=command.result)
