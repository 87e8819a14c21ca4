"""One JSON error shape for every failure: `{status, error, message, field?}`.

Clients get the reason and the offending field, never a stack trace.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from domain.errors import DomainError, ErrorKind

log = logging.getLogger("api.errors")

_STATUS_OF_KIND = {
    ErrorKind.INVALID: HTTPStatus.BAD_REQUEST,
    ErrorKind.FORBIDDEN: HTTPStatus.FORBIDDEN,
    ErrorKind.NOT_FOUND: HTTPStatus.NOT_FOUND,
    ErrorKind.CONFLICT: HTTPStatus.CONFLICT,
}
# msgspec says where a bad value sits as "- at `$.customer.name`" and names a missing field as
# "missing required field `start`"; clients want `customer.name` and `start`.
_AT = re.compile(r"at `\$\.?([^`]*)`")
_MISSING = re.compile(r"missing required field `([^`]+)`")
_MISSING_PARAMETER = re.compile(r"Missing required (?:query|path|header|cookie) parameter '([^']+)'")


class ErrorBody(msgspec.Struct, omit_defaults=True):
    status: int
    error: str
    message: str
    field: str | None = None


class ServiceUnavailable(Exception):
    """A dependency (database, Temporal, SMTP) does not answer; the client may retry."""


class TooManyRequests(Exception):
    """The client asked too often; it may retry later."""


def error_response(status: int, message: str, field: str | None = None) -> Response[ErrorBody]:
    headers = {"WWW-Authenticate": 'Bearer realm="appointments"'} if status == 401 else None
    if status in (429, 503):
        headers = {"Retry-After": "60" if status == 429 else "5"}
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
    return error_response(exc.status_code, str(exc.detail))


def _domain(_: Request, exc: DomainError) -> Response[ErrorBody]:
    return error_response(_STATUS_OF_KIND[exc.kind], exc.message, exc.field)


def _unavailable(_: Request, exc: ServiceUnavailable) -> Response[ErrorBody]:
    return error_response(503, str(exc))


def _too_many(_: Request, exc: TooManyRequests) -> Response[ErrorBody]:
    return error_response(429, str(exc))


def _unexpected(request: Request, exc: Exception) -> Response[ErrorBody]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "an unexpected error occurred; it has been logged")


exception_handlers: ExceptionHandlersMap = {
    ValidationException: _validation,
    HTTPException: _http,
    DomainError: _domain,
    ServiceUnavailable: _unavailable,
    TooManyRequests: _too_many,
    Exception: _unexpected,
}
