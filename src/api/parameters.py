"""Path and query parameters as the contract names and types them.

Each is received as a string and parsed by the domain's parsers (`domain.values`), which name the
parameter in their errors and accept the contract's quoted examples (`start=%222022-...%22`); the
OpenAPI document describes each with the type, format or pattern of its unquoted values.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar.params import Parameter, QueryParameter

from domain.fields import DURATION_PATTERN, MIN_DURATION_LENGTH
from domain.text import ONE_LINE_PATTERN
from domain.values import MAX_ID_LENGTH


def parameter(description: str, **schema: Any) -> Any:
    """A parameter's documentation: `schema` replaces the type Litestar derives from the annotation,
    and an optional parameter is not documented as nullable (a query string cannot say null)."""
    return Parameter(description=description, schema_extra={"oneOf": None, **schema})


def query(name: str, description: str, **schema: Any) -> Any:
    """A query parameter `name`, documented as `parameter` documents one."""
    return QueryParameter(name=name, description=description, schema_extra={"oneOf": None, **schema})


DATE_TIME = {"type": "string", "format": "date-time"}
DURATION = {"type": "string", "pattern": DURATION_PATTERN, "minLength": MIN_DURATION_LENGTH}
INTEGER = {"type": "integer", "format": "int64"}
# An application, user or participant id, as `domain.values.parse_id` takes it.
ID = {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH, "pattern": ONE_LINE_PATTERN}

AppointmentId = Annotated[
    str,
    parameter(
        "The appointment's id (a UUID)",
        type="string",
        format="uuid",
        examples=["f46f165d-383a-4432-9a3e-9c805a152e0c"],
    ),
]
ParticipantId = Annotated[
    str, parameter("The participant's id: an agent's user id, or the id a customer was given", **ID)
]
