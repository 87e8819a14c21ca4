"""Route guards: the roles the contract allows on each endpoint."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from domain.access import Principal, Role


def requires(*roles: Role) -> Guard:
    allowed = frozenset(roles)

    # Async although it never awaits: Litestar runs a sync guard in a worker thread, a thread
    # hop per request on every route.
    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        # Litestar answers OPTIONS itself (Allow, CORS preflight) without authenticating: no data to guard.
        if connection.scope.get("method") == "OPTIONS":
            return
        principal: Principal = connection.user
        if not principal.has_any(allowed):
            names = ", ".join(sorted(r.value for r in allowed))
            raise PermissionDeniedException(f"this operation requires one of the roles {names}")

    return guard
