"""What the OpenAPI document says beyond what Litestar derives from the routes.

- Every status a handler can answer, with `ErrorBody`: Litestar documents only the success
  response and its own 400 shape; the service answers every failure as `{status, error, message,
  field?}` (api.errors). `documented(Controller, 400, 404, ...)` adds those statuses to each route
  handler of a controller, so that the document describes every response a client can get
  (tests/robustness/test_schemathesis.py holds the service to it).
- Readable, stable operation ids: the handler's name in camelCase (`schedule_appointment` is
  `scheduleAppointment`), which generated clients turn into their method names.
- Public operations say so with an empty `security` (`finish_document`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from litestar import Controller, Litestar
from litestar.enums import ParamType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Schema,
)

from api.auth.guards import COMMAND
from api.errors import ErrorBody, status_of
from api.parameters import ID
from api.rate_limiting import PerClient
from domain.access import APPLICATION_ID
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
    """Marked `security=[]` on the route: no credentials needed (`documented` marks it `[{}]`, which
    Litestar keeps, and `finish_document` makes it `[]` in the document)."""
    return handler.security is not None and all(not requirement for requirement in handler.security)


def _statuses_of(handler: HTTPRouteHandler, guards: list[object], statuses: tuple[int, ...]) -> set[int]:
    command: Command | None = handler.opt.get(COMMAND)
    if command is not None:
        # The command says how it may be refused; the caller may also lack rights, and the
        # workflow service may be away.
        statuses = (401, 403, 503, *(status_of(kind) for kind in command.refusals))
    chosen = {400, *statuses}
    if any(isinstance(guard, PerClient) for guard in guards):
        chosen.add(429)
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
    # A controller's own guards are a class attribute only where it declares them.
    controller_guards = vars(controller).get("guards") or []
    for value in vars(controller).values():
        if isinstance(value, HTTPRouteHandler):
            value.responses = {
                **error_responses(
                    *_statuses_of(value, [*controller_guards, *(value.guards or ())], statuses)
                ),
                **(value.responses or {}),
            }
            if is_public(value):
                # Litestar leaves an empty `security` out, and the route would seem to need the
                # document's global bearer token: marked here, made empty by `finish_document`.
                value.security = [{}]
    return controller


def camel_case_operation_id(handler: HTTPRouteHandler, *_: Any) -> str:
    first, *rest = handler.handler_name.split("_")
    return first + "".join(word.title() for word in rest)


def _header(description: str, schema: Schema) -> OpenAPIHeader:
    return OpenAPIHeader(schema=schema, description=description, required=True)


_RETRY_AFTER = _header("Seconds to wait before retrying", Schema(type=OpenAPIType.INTEGER, minimum=1))
# The headers of error answers, which Litestar's response specs cannot declare (api.errors sets them).
_ERROR_HEADERS = {"429": {"Retry-After": _RETRY_AFTER}, "503": {"Retry-After": _RETRY_AFTER}}


def _challenge(operation: Operation) -> OpenAPIHeader:
    scheme = (
        "Basic" if any("basicOtp" in requirement for requirement in operation.security or ()) else "Bearer"
    )
    return _header(
        f"The credentials to send: `{scheme}`", Schema(type=OpenAPIType.STRING, pattern=f"^{scheme} ")
    )


def finish_document(app: Litestar) -> None:
    """What Litestar's route options cannot say, written on the document before it is first served
    (Litestar serves that object):

    - public operations with `security: []`: no credentials, whatever the document's default;
    - the headers of error answers: the challenge of a 401, `Retry-After` of a 429 or 503;
    - examples of date-times a week ahead, so that an example request schedules what it shows;
    - the bounds of an `applicationId` in a path, which Litestar derives from the path alone.
    """
    _date_time_examples(app.openapi_schema, datetime.now(UTC) + EXAMPLE_LEAD)
    for path_item in (app.openapi_schema.paths or {}).values():
        for method in ("get", "put", "post", "delete", "patch"):
            operation: Operation | None = getattr(path_item, method, None)
            if operation is None:
                continue
            if operation.security == [{}]:
                operation.security = []
            for parameter in operation.parameters or []:
                if isinstance(parameter, Parameter) and (parameter.name, parameter.param_in) == (
                    APPLICATION_ID,
                    ParamType.PATH,
                ):
                    parameter.schema = _APPLICATION_ID
            for status, response in (operation.responses or {}).items():
                if not isinstance(response, OpenAPIResponse):
                    continue
                headers = {"WWW-Authenticate": _challenge(operation)} if status == "401" else {}
                headers.update(_ERROR_HEADERS.get(status, {}))
                if headers:
                    response.headers = {**(response.headers or {}), **headers}


_APPLICATION_ID = Schema(
    type=OpenAPIType.STRING,
    description="Unique application identifier: the token's own",
    min_length=ID["minLength"],
    max_length=ID["maxLength"],
    pattern=ID["pattern"],
)

# How far ahead the document's example date-times are: within every scheduling bound.
EXAMPLE_LEAD = timedelta(days=7)


def _date_time_examples(document: OpenAPI, moment: datetime) -> None:
    example = moment.strftime("%Y-%m-%dT10:00:00Z")
    for component in ((document.components and document.components.schemas) or {}).values():
        for prop in (component.properties or {}).values():
            if isinstance(prop, Schema) and prop.format == OpenAPIFormat.DATE_TIME and prop.examples:
                prop.examples = [example]
