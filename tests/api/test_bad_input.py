"""Bad input is a 400 naming the field, never a 500, and changes nothing."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from domain.access import Role
from tests.api.conftest import Stack, TokenFactory
from tests.support.requests import schedule_body


async def _count(stack: Stack, application_id: str) -> int:
    async with stack.engine.connect() as conn:
        result = await conn.execute(
            text("SELECT count(*) FROM appointments WHERE application_id = :app"), {"app": application_id}
        )
        return result.scalar_one()


BAD_SCHEDULES = {
    "duration": [
        {"duration": "5 minutes"},
        {"duration": "PT0S"},
        {"duration": "-PT5M"},
        {"duration": "P1M"},
        {"duration": "P2D"},
        {"duration": 300},
        {"duration": "P1000000000D"},
    ],
    "timezone": [{"timezone": "Mars/Olympus"}, {"timezone": "../../etc/passwd"}, {"timezone": ""}],
    "start": [
        {"start": "tomorrow"},
        {"start": "2030-13-45T25:00:00Z"},
        {"start": "2001-01-01T10:00:00Z"},
        {"start": "9999-12-31T23:59:59-01:00"},
    ],
    "locale": [{"locale": "english please"}],
    "title": [{"title": ["a", "list"]}, {"title": "x" * 5000}],
    "customer.name.firstName": [{"customer": {"name": {"firstName": 7}}}],
}


@pytest.mark.parametrize(
    ("field", "override"), [(field, override) for field, cases in BAD_SCHEDULES.items() for override in cases]
)
async def test_bad_schedule_values_are_400_naming_the_field(
    http: httpx.AsyncClient, auth: TokenFactory, stack: Stack, application_id: str, field: str, override: dict
) -> None:
    response = await http.post("/api/appointments", json=schedule_body(**override), headers=auth(Role.AGENT))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == 400 and body["field"] == field, body
    assert field.split(".", maxsplit=1)[0] in body["message"]
    assert await _count(stack, application_id) == 0


@pytest.mark.parametrize("missing", ["start", "duration", "timezone"])
async def test_missing_required_field_is_400(
    http: httpx.AsyncClient, auth: TokenFactory, stack: Stack, application_id: str, missing: str
) -> None:
    body = schedule_body()
    del body[missing]
    response = await http.post("/api/appointments", json=body, headers=auth(Role.AGENT))
    assert response.status_code == 400, response.text
    assert response.json()["field"] == missing
    assert await _count(stack, application_id) == 0


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]", b"null", b'{"start": '])
async def test_unparseable_bodies_are_400(http: httpx.AsyncClient, auth: TokenFactory, raw: bytes) -> None:
    headers = {**auth(Role.AGENT), "Content-Type": "application/json"}
    response = await http.post("/api/appointments", content=raw, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["status"] == 400


async def test_bad_values_on_writes_to_an_existing_appointment(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    agent = auth(Role.AGENT)
    created = (await http.post("/api/appointments", json=schedule_body(), headers=agent)).json()
    cases = [
        ({"id": created["id"], "start": "soon", "duration": "PT5M", "timezone": "UTC"}, "start"),
        ({"id": created["id"], "start": created["start"], "duration": "PT5X", "timezone": "UTC"}, "duration"),
        (
            {"id": created["id"], "start": created["start"], "duration": "PT5M", "timezone": "Nowhere"},
            "timezone",
        ),
        ({"id": "not-a-uuid", "start": created["start"], "duration": "PT5M", "timezone": "UTC"}, "id"),
        ({"start": created["start"], "duration": "PT5M", "timezone": "UTC"}, "id"),
    ]
    for body, field in cases:
        response = await http.put("/api/appointments/reschedule", json=body, headers=agent)
        assert response.status_code == 400, response.text
        assert response.json()["field"] == field
    assert (await http.get("/api/appointments/not-a-uuid", headers=agent)).json()["field"] == "id"
    unchanged = (await http.get(f"/api/appointments/{created['id']}", headers=agent)).json()
    assert unchanged == created
