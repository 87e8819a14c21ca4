"""Checks on what arrives before any handler sees it: the JSON body, the query string, path parameters.

A client can send any bytes; each of these answers a 4xx with the usual error body instead of
letting the bytes reach the decoder, the database or a workflow:

- a body whose Content-Type is not JSON (415); bytes that are not UTF-8, not JSON, JSON with a key
  repeated in one object, lone surrogates, `NaN`/`Infinity`, numbers beyond a float's range, or
  nesting deeper than `MAX_JSON_DEPTH` (400);
- a control character or line break in a query or path parameter (400 naming it), more than
  `MAX_PARAMETER_VALUES` values for one query parameter (400).

String fields inside bodies are held to the text rule as they are decoded (`domain.fields.Request`).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import parse_qsl

from litestar import Request
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Empty, Receive, Scope, Send

from api.auth.guards import check_body_application
from domain.errors import DomainError, ErrorKind, invalid
from domain.text import is_one_line

# Deep enough for any real metadata; shallow enough that no parser, encoder or JSONB column recurses far.
MAX_JSON_DEPTH = 32
# organizerId=a,b,c... : one query parameter names at most this many values, repeated or comma-separated.
MAX_PARAMETER_VALUES = 100
# As large as a float gets (1.8e308): beyond, a number is an error, not something to store.
MAX_INTEGER_DIGITS = 309
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class UnsupportedMediaType(HTTPException):
    status_code = 415


def _media_type(content_type: str) -> str:
    return content_type.split(";", maxsplit=1)[0].strip().lower()


def is_json(content_type: str | None) -> bool:
    """A missing Content-Type is taken as JSON; a declared one must say JSON."""
    if not content_type:
        return True
    media_type = _media_type(content_type)
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _BodyRejected(f"the request body repeats the key {key!r} in one object")
        result[key] = value
    return result


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _BodyRejected(f"the request body has a number out of range: {text[:40]}")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _BodyRejected(f"the request body has a number out of range: {text[:40]}…")
    return int(text)


def _no_constant(name: str) -> Any:
    raise _BodyRejected(f"the request body is not valid JSON: {name} is not a JSON number")


class _BodyRejected(Exception):
    pass


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest (a scalar is 0), without recursion.

    Raises `_BodyRejected` for a string or key with a lone UTF-16 surrogate (`"\\ud800"`): valid
    JSON escapes, yet no text.
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise _BodyRejected("the request body has a lone UTF-16 surrogate escape (\\ud800-\\udfff)")
            continue
        if isinstance(item, dict):
            stack.extend((key, level) for key in item)
            item = list(item.values())
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, level + 1)
        stack.extend((child, level + 1) for child in item)
    return deepest


def check_json_body(body: bytes, content_type: str | None) -> Any:
    """The JSON value of `body`, or a 415 or a 400 (DomainError without a field) for a body no
    handler should decode."""
    if not body:
        return None
    if not is_json(content_type):
        raise UnsupportedMediaType(
            detail=f"the request body must be application/json, not {content_type[:80]!r}"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _rejected(f"the request body is not valid UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object_without_duplicates,
            parse_float=_finite_float,
            parse_int=_bounded_int,
            parse_constant=_no_constant,
        )
    except _BodyRejected as exc:
        raise _rejected(str(exc)) from None
    except RecursionError:
        raise _rejected(f"the request body nests deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError, and integers longer than Python converts
        raise _rejected(f"the request body is not valid JSON: {exc}") from None
    try:
        depth = _depth(value)
    except _BodyRejected as exc:
        raise _rejected(str(exc)) from None
    if depth > MAX_JSON_DEPTH:
        raise _rejected(f"the request body nests deeper than {MAX_JSON_DEPTH} levels")
    return value


def _rejected(message: str) -> DomainError:
    return DomainError(ErrorKind.INVALID, message)


class JsonRequest(Request):
    """A request whose JSON body is checked (see `check_json_body`), and its `applicationId` held
    to the route's rule (`api.auth.guards.own_application`), before it is decoded."""

    async def json(self) -> Any:
        if self._json is Empty and self._connection_state.json is Empty:
            value = check_json_body(await self.body(), self.headers.get("content-type"))
            check_body_application(self.route_handler.opt, self.scope.get("user"), value)
        return await super().json()


def _check_parameter(name: str, value: str) -> None:
    if not is_one_line(name):
        raise invalid("query", "query: a parameter name has control characters or line breaks")
    if not is_one_line(value):
        raise invalid(name, f"{name}: control characters and line breaks are not allowed")


class ParameterGuard:
    """ASGI middleware: control characters in path and query parameters, and endless value lists."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in (scope.get("path_params") or {}).items():
                if isinstance(value, str):
                    _check_parameter(name, value)
            counts: dict[str, int] = {}
            raw_query = scope.get("query_string", b"").decode("utf-8", errors="replace")
            for name, value in (
                parse_qsl(raw_query, keep_blank_values=True, errors="replace") if raw_query else ()
            ):
                _check_parameter(name, value)
                counts[name] = counts.get(name, 0) + value.count(",") + 1
                if counts[name] > MAX_PARAMETER_VALUES:
                    raise invalid(
                        name, f"{name}: at most {MAX_PARAMETER_VALUES} values (repeated or comma-separated)"
                    )
        await self.app(scope, receive, send)
