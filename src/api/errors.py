"""One JSON error shape for every failure: `{status, error, message, field?}`.

Clients get the reason and the offending field, never a stack trace.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator
from datetime import timedelta
from http import HTTPStatus

import asyncpg
import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap
from sqlalchemy import exc as sa_exc

from domain.errors import DomainError, ErrorKind
from storage.read_connections import ReadsUnavailable

log = logging.getLogger("api.errors")

_STATUS_OF_KIND = {
    ErrorKind.INVALID: HTTPStatus.BAD_REQUEST,
    ErrorKind.FORBIDDEN: HTTPStatus.FORBIDDEN,
    ErrorKind.NOT_FOUND: HTTPStatus.NOT_FOUND,
    ErrorKind.CONFLICT: HTTPStatus.CONFLICT,
    ErrorKind.TOO_LARGE: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    ErrorKind.UNPROCESSABLE: HTTPStatus.UNPROCESSABLE_ENTITY,
    ErrorKind.UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
}
# msgspec says where a bad value sits as "- at `$.customer.name`" and names a missing field as
# "missing required field `start`"; clients want `customer.name` and `start`.
_AT = re.compile(r"at `\$\.?([^`]*)`")
_MISSING = re.compile(r"missing required field `([^`]+)`")
_MISSING_PARAMETER = re.compile(r"Missing required (?:query|path|header|cookie) parameter '([^']+)'")


DATABASE_UNAVAILABLE = "the database is unavailable; retry the request later"

# SQLSTATE classes that mean "the server cannot serve you now", not "your query is wrong":
# 08 connection exception, 53 insufficient resources (too many connections, out of memory or
# disk), 57P01-57P03 shutting down, crashed, starting up.
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P")
# Errors SQLAlchemy raises when the pool or a connection, not a statement, failed.
_CONNECTION_ERRORS = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,  # no pooled connection free within pool_timeout
    sa_exc.DisconnectionError,
    ReadsUnavailable,  # no read connection free in time
)
_DATABASE_MODULES = ("asyncpg", "sqlalchemy")


class ErrorBody(msgspec.Struct, omit_defaults=True):
    status: int
    error: str
    message: str
    field: str | None = None


class ServiceUnavailable(Exception):
    """A dependency (database, Temporal, SMTP) does not answer; the client may retry."""


class TooManyRequests(Exception):
    """The client asked too often; it may retry after `retry_after`."""

    def __init__(self, message: str, retry_after: timedelta = timedelta(minutes=1)) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def error_response(
    status: int, message: str, field: str | None = None, retry_after: timedelta | None = None
) -> Response[ErrorBody]:
    headers = {"WWW-Authenticate": 'Bearer realm="appointments"'} if status == 401 else None
    if status in (429, 503):
        wait = retry_after or (timedelta(minutes=1) if status == 429 else timedelta(seconds=5))
        headers = {"Retry-After": str(max(1, math.ceil(wait.total_seconds())))}
    return Response(
        ErrorBody(status=status, error=HTTPStatus(status).phrase, message=message, field=field),
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


def _field_of_validation(exc: ValidationException) -> tuple[str, str | None]:
    """The first problem Litestar reports, and the field it concerns."""
    extra = exc.extra
    first = extra[0] if isinstance(extra, list) and extra and isinstance(extra[0], dict) else {}
    message = str(first.get("message") or exc.detail)
    at = _AT.search(message)
    missing = _MISSING.search(message)
    path = [at.group(1)] if at and at.group(1) else []
    if missing:
        path.append(missing.group(1))
    if parameter := _MISSING_PARAMETER.search(message):
        path.append(parameter.group(1))
    if path:
        return message, ".".join(path)
    key = first.get("key")
    # Litestar names the whole body "data": that is no field a client knows.
    if key and key != "data":
        return message, str(key)
    if "malformed" in message.lower() or "JSON" in message:
        return f"the request body is not valid JSON: {message}", None
    return message, None


def _validation(_: Request, exc: ValidationException) -> Response[ErrorBody]:
    message, field = _field_of_validation(exc)
    if field and not message.startswith(field):
        message = f"{field}: {message}"
    return error_response(400, message, field)


def _http(_: Request, exc: HTTPException) -> Response[ErrorBody]:
    response = error_response(exc.status_code, str(exc.detail))
    # Keeps what the framework says with the error, e.g. `Allow` on a 405.
    response.headers.update(exc.headers or {})
    return response


def _domain(_: Request, exc: DomainError) -> Response[ErrorBody]:
    return error_response(_STATUS_OF_KIND[exc.kind], exc.message, exc.field)


def status_of(kind: ErrorKind) -> int:
    return int(_STATUS_OF_KIND[kind])


def _unavailable(_: Request, exc: ServiceUnavailable) -> Response[ErrorBody]:
    return error_response(503, str(exc))


def _too_many(_: Request, exc: TooManyRequests) -> Response[ErrorBody]:
    return error_response(429, str(exc), retry_after=exc.retry_after)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, the DBAPI error SQLAlchemy wraps, and what each was raised `from`.

    Not `__context__`: an error raised while another was being handled is not caused by it.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        orig = getattr(error, "orig", None)
        pending.extend([error.__cause__, orig if isinstance(orig, BaseException) else None])


def _raised_by_database_driver(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")).startswith(_DATABASE_MODULES):
            return True
        tb = tb.tb_next
    return False


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database cannot be reached now, rather than a wrong statement.

    Connection-level failures (refused or lost connections, a server shutting down or starting
    up, a pool with no free connection, a timeout) are; constraint violations, syntax errors
    and other statement errors are not: those are bugs, and stay 500.
    """
    for error in _causes(exc):
        if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, _CONNECTION_ERRORS):
            return True
        # asyncpg's errors, and SQLAlchemy's wrappers of them, carry the server's SQLSTATE.
        sqlstate = getattr(error, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        if isinstance(error, asyncpg.InterfaceError) and "closed" in str(error):
            return True
        # Refused, reset or timed-out sockets surface from asyncpg as plain OSErrors.
        if isinstance(error, OSError) and _raised_by_database_driver(error):
            return True
    return False


def _database_error(request: Request, exc: Exception) -> Response[ErrorBody]:
    if not database_unavailable(exc):
        return _unexpected(request, exc)
    # One line, no traceback: during an outage every request ends here.
    log.warning(
        "database unavailable on %s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc
    )
    return error_response(503, DATABASE_UNAVAILABLE)


def _os_error(request: Request, exc: OSError) -> Response[ErrorBody]:
    if database_unavailable(exc):
        return _database_error(request, exc)
    if isinstance(exc, ConnectionError | TimeoutError):
        log.warning("dependency unavailable on %s %s: %r", request.method, request.url.path, exc)
        return error_response(503, "a service this request depends on did not answer; retry the request")
    return _unexpected(request, exc)


def _unexpected(request: Request, exc: Exception) -> Response[ErrorBody]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "an unexpected error occurred; it has been logged")


exception_handlers: ExceptionHandlersMap = {
    ValidationException: _validation,
    HTTPException: _http,
    DomainError: _domain,
    ServiceUnavailable: _unavailable,
    TooManyRequests: _too_many,
    sa_exc.SQLAlchemyError: _database_error,
    asyncpg.PostgresError: _database_error,
    asyncpg.InterfaceError: _database_error,
    ReadsUnavailable: _database_error,
    OSError: _os_error,
    Exception: _unexpected,
}
