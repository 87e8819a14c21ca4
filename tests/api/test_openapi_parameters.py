"""The served document's id parameters state the bounds the service holds them to
(`domain.values.parse_id`): what a client, or a generator of requests, reads there is what the
API takes; a value beyond them is a 400 naming the parameter (tests/unit/test_request_fields.py)."""

from __future__ import annotations

import httpx

from domain.text import ONE_LINE_PATTERN
from domain.values import MAX_ID_LENGTH

# Every parameter the handlers read with `parse_id`.
ID_PARAMETERS = frozenset({"applicationId", "pid"})


async def test_every_id_parameter_states_the_bounds_of_an_id(http: httpx.AsyncClient) -> None:
    document = (await http.get("/schema/openapi.json")).json()
    found = [
        (f"{method.upper()} {path}", parameter)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        for parameter in operation.get("parameters", [])
        if parameter["name"] in ID_PARAMETERS
    ]
    # In paths (settings, webhooks, participants) and in query strings (lists and counts).
    assert {parameter["in"] for _, parameter in found} == {"path", "query"}, found
    for operation, parameter in found:
        schema = parameter["schema"]
        # The list's filter may be empty: it then filters nothing.
        shortest = 0 if operation == "GET /api/appointments" else 1
        assert (schema["type"], schema.get("minLength", 0), schema["maxLength"], schema["pattern"]) == (
            "string",
            shortest,
            MAX_ID_LENGTH,
            ONE_LINE_PATTERN,
        ), (operation, parameter)
