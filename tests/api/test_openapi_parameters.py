"""The served document's id parameters state the bounds the service holds them to
(`domain.values.parse_id`): what a client, or a generator of requests, reads there is what the
API takes; a value beyond them is a 400 naming the parameter (tests/unit/test_request_fields.py)."""

from __future__ import annotations

import httpx

from domain.text import ONE_LINE_PATTERN
from domain.values import MAX_ID_LENGTH

# Every parameter the handlers read with `parse_id` (organizerId: each of its items).
ID_PARAMETERS = frozenset({"applicationId", "pid", "organizerId"})
# Where an empty value filters nothing, as if absent.
MAY_BE_EMPTY = frozenset(
    {("GET /api/appointments", "applicationId"), ("GET /api/appointments", "organizerId")}
)


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
        schema = parameter["schema"].get("items", parameter["schema"])
        shortest = 0 if (operation, parameter["name"]) in MAY_BE_EMPTY else 1
        assert (schema["type"], schema.get("minLength", 0), schema["maxLength"], schema["pattern"]) == (
            "string",
            shortest,
            MAX_ID_LENGTH,
            ONE_LINE_PATTERN,
        ), (operation, parameter)
