"""The error responses in the OpenAPI document: every status a handler can answer, with `ErrorBody`.

Litestar documents only the success response and its own 400 shape; the service answers every
failure as `{status, error, message, field?}` (api.errors). `documented(Controller, 400, 404, ...)`
adds those statuses to each route handler of a controller, so that the document describes every
response a client can get (tests/robustness/test_schemathesis.py holds the service to it).
"""

from __future__ import annotations

from typing import TypeVar

from litestar import Controller
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec

from api.auth.guards import COMMAND
from api.errors import ErrorBody, status_of
from domain.commands import Command

DESCRIPTIONS = {
    400: "Invalid input: `field` names the offending field or parameter when there is one",
    401: "Missing or invalid credentials",
    403: "The credentials do not allow this",
    404: "Not found, or not visible to these credentials",
    409: "Conflicts with the current state",
    413: "Too large: a body over 256 KiB, or a value beyond its bound (`field` names it)",
    415: "The request body is not JSON",
    422: "The Idempotency-Key was used with a different request",
    429: "Too many requests: retry after `Retry-After` seconds",
    503: "A dependency (database, Temporal, mail server) is unavailable: retry after `Retry-After` seconds",
}
BODY_STATUSES = (413, 415)
AUTH_STATUSES = (401, 403)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

C = TypeVar("C", bound=type[Controller])


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(
            data_container=ErrorBody, description=DESCRIPTIONS[status], generate_examples=False
        )
        for status in sorted(statuses)
    }


def is_public(handler: HTTPRouteHandler) -> bool:
    """Marked `security=[]`: no credentials needed (documented as the empty requirement `[{}]`)."""
    return handler.security is not None and all(not requirement for requirement in handler.security)


def _statuses_of(handler: HTTPRouteHandler, statuses: tuple[int, ...]) -> set[int]:
    command: Command | None = handler.opt.get(COMMAND)
    if command is not None:
        # The command says how it may be refused; the caller may also lack rights, and the
        # workflow service may be away.
        statuses = (401, 403, 503, *(status_of(kind) for kind in command.refusals))
    chosen = {400, *statuses}
    if handler.http_methods & _BODY_METHODS:
        chosen.update(BODY_STATUSES)
    if handler.http_methods == {"GET"}:
        # Reads change nothing, so nothing conflicts, and they take no Idempotency-Key.
        chosen.difference_update({409, 422})
    if is_public(handler):  # no credentials are checked, so none can be refused
        chosen.difference_update(AUTH_STATUSES)
    return chosen


def documented(controller: C, *statuses: int) -> C:
    """`controller`, each handler documenting 400, `statuses` (or, for a handler that sends a
    command, those of the command's refusals), and 413/415 where it reads a body.

    Responses a handler declares itself win. Public handlers (`security=[]`) lose 401 and 403.
    """
    for value in vars(controller).values():
        if isinstance(value, HTTPRouteHandler):
            value.responses = {**error_responses(*_statuses_of(value, statuses)), **(value.responses or {})}
            if is_public(value):
                # Litestar leaves an empty `security` out, and the route would seem to need the
                # document's global bearer token; the empty requirement says "no credentials".
                value.security = [{}]
    return controller
