"""Who may call a route, as route options checked by the authentication middleware once the
token is verified: the roles the contract allows (`opt=requires(...)` on a route or controller),
and, where a request names an application, that it is the caller's own (`own_application`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from litestar import Request
from litestar.exceptions import PermissionDeniedException
from litestar.types import Scope

from domain.access import APPLICATION_ID, NamedBy, Principal, Role, check_own_application
from domain.commands import Command

ROLES = "roles"
COMMAND = "command"
APPLICATION = "application"

# The request of an authenticated route: `request.user` is the verified caller.
PrincipalRequest = Request[Principal, str, object]


def requires(*roles: Role) -> dict[str, Any]:
    """The route `opt` that lets only principals holding one of `roles` in."""
    return {ROLES: frozenset(roles)}


def sends(command: Command) -> dict[str, Any]:
    """The route `opt` of a route that sends `command`: its roles, and (api.openapi_document)
    the statuses its refusals answer."""
    return {ROLES: command.roles, COMMAND: command}


def check_roles(opt: Mapping[str, Any], principal: Principal) -> None:
    allowed: frozenset[Role] | None = opt.get(ROLES)
    if allowed is not None and not principal.has_any(allowed):
        names = ", ".join(sorted(r.value for r in allowed))
        raise PermissionDeniedException(f"this operation requires one of the roles {names}")


def own_application(named_by: NamedBy) -> dict[str, Any]:
    """The route `opt` of a route whose request may name an application: only the caller's own.

    Combine with the roles: `opt={**requires(Role.ADMIN), **own_application(NamedBy.PATH)}`.
    """
    return {APPLICATION: named_by}


def check_application(opt: Mapping[str, Any], principal: Principal, scope: Scope) -> None:
    """The path and query parts of the rule; a body's `applicationId` is checked as the body is
    read (`api.request_guards.JsonRequest`)."""
    named_by: NamedBy | None = opt.get(APPLICATION)
    if named_by is NamedBy.PATH:
        check_own_application(principal, named_by, scope["path_params"].get(APPLICATION_ID))
    elif named_by is NamedBy.QUERY:
        query = parse_qs(scope["query_string"].decode("utf-8", errors="replace"))
        for value in query.get(APPLICATION_ID, ()):
            check_own_application(principal, named_by, value)


def check_body_application(opt: Mapping[str, Any], principal: Principal | None, body: object) -> None:
    if opt.get(APPLICATION) is NamedBy.BODY and principal is not None and isinstance(body, dict):
        claimed = body.get(APPLICATION_ID)
        if isinstance(claimed, str):
            check_own_application(principal, NamedBy.BODY, claimed)
