"""The roles the contract allows on each endpoint: `opt=requires(...)` on a route or controller,
checked by the authentication middleware once the token is verified."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar.exceptions import PermissionDeniedException

from domain.access import Principal, Role
from domain.commands import Command

ROLES = "roles"
COMMAND = "command"


def requires(*roles: Role) -> dict[str, Any]:
    """The route `opt` that lets only principals holding one of `roles` in."""
    return {ROLES: frozenset(roles)}


def sends(command: Command) -> dict[str, Any]:
    """The route `opt` of a route that sends `command`: its roles, and (api.openapi_responses)
    the statuses its refusals answer."""
    return {ROLES: command.roles, COMMAND: command}


def check_roles(opt: Mapping[str, Any], principal: Principal) -> None:
    allowed: frozenset[Role] | None = opt.get(ROLES)
    if allowed is not None and not principal.has_any(allowed):
        names = ", ".join(sorted(r.value for r in allowed))
        raise PermissionDeniedException(f"this operation requires one of the roles {names}")
