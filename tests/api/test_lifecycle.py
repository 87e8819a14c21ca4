"""The core lifecycle endpoints over HTTP against the real stack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from domain.access import Role
from tests.api.conftest import TokenFactory
from tests.support.requests import iso, schedule_body

AGENT, SUPERVISOR, CLIENT_SERVICE = Role.AGENT, Role.SUPERVISOR, Role.CLIENT_SERVICE


async def _schedule(http: httpx.AsyncClient, headers: dict[str, str], **overrides: object) -> dict:
    response = await http.post("/api/appointments/", json=schedule_body(**overrides), headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_schedule_returns_the_appointment_with_organizer_and_participants(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    agent = auth(AGENT, sub="agent-1")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    created = await _schedule(http, agent, start=start, applicationId=application_id)

    assert created["applicationId"] == application_id
    assert created["organizer"] == {"id": "agent-1", "type": "AGENT"}
    types = sorted(p["type"] for p in created["participantIds"])
    assert types == ["AGENT", "CUSTOMER"]
    assert {"id": "agent-1", "type": "AGENT"} in created["participantIds"]
    assert created["start"] == iso(start)
    assert created["end"] == iso(start + timedelta(minutes=5))
    assert created["duration"] == "PT5M"
    assert created["timezone"] == "Europe/Berlin"
    assert created["interaction"]["state"] == "PENDING"
    assert created["interaction"]["routing"]["type"] == "GENESYS_CLOUD_FLOW"
    assert created["status"] == "SCHEDULED" and created["version"] == 1
    assert "roomAccess" not in created

    # A read right after the write sees it.
    fetched = await http.get(f"/api/appointments/{created['id']}", headers=agent)
    assert fetched.status_code == 200
    assert fetched.headers["content-type"] == "application/json"
    assert fetched.headers["content-length"] == str(len(fetched.content))
    assert fetched.json() == created
    # An id in another case or percent-encoded is the same appointment.
    for spelling in (created["id"].upper(), created["id"].replace("-", "%2D", 1)):
        again = await http.get(f"/api/appointments/{spelling}", headers=agent)
        assert again.status_code == 200 and again.json() == created


async def test_contract_examples_with_quoted_values_are_accepted(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    created = await _schedule(
        http,
        auth(CLIENT_SERVICE),
        duration='"PT5M"',
        start=f'"{start.strftime("%Y-%m-%dT%H:%M:%S")}.0Z"',
        timezone='"Europe/Berlin"',
        locale='"en-GB"',
    )
    assert created["duration"] == "PT5M" and created["start"] == iso(start) and created["locale"] == "en-GB"


async def test_update_changes_given_fields_clears_empty_ones_and_keeps_absent_ones(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    agent = auth(AGENT)
    created = await _schedule(http, agent)

    response = await http.put(
        "/api/appointments", json={"id": created["id"], "title": "New title"}, headers=agent
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["title"] == "New title"
    assert updated["notes"] == created["notes"] and updated["metadata"] == created["metadata"]
    assert updated["version"] == 2

    cleared = (
        await http.put(
            "/api/appointments/", json={"id": created["id"], "notes": "", "metadata": {}}, headers=agent
        )
    ).json()
    assert "notes" not in cleared and cleared["metadata"] == {} and cleared["title"] == "New title"
    assert (await http.get(f"/api/appointments/{created['id']}", headers=agent)).json() == cleared


async def test_reschedule_recomputes_end_and_supervisor_may_do_it(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    created = await _schedule(http, auth(AGENT))
    new_start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
    response = await http.put(
        "/api/appointments/reschedule/",
        json={
            "id": created["id"],
            "start": iso(new_start),
            "duration": "PT1H30M",
            "timezone": "America/New_York",
            "locale": "en-US",
        },
        headers=auth(SUPERVISOR),
    )
    assert response.status_code == 200, response.text
    moved = response.json()
    assert moved["start"] == iso(new_start)
    assert moved["end"] == iso(new_start + timedelta(hours=1, minutes=30))
    assert moved["duration"] == "PT1H30M"
    assert moved["timezone"] == "America/New_York" and moved["locale"] == "en-US"
    assert moved["version"] == created["version"] + 1


async def test_activation_returns_one_room_that_follows_a_reschedule(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    agent, client_service = auth(AGENT), auth(CLIENT_SERVICE)
    created = await _schedule(http, agent)

    first = await http.post(f"/api/appointments/activate/{created['id']}", headers=client_service)
    assert first.status_code == 200, first.text
    room = first.json()
    assert set(room) == {"url", "type", "expires"} and room["type"] == "MULTI_USE_TICKET"
    second = await http.post(f"/api/appointments/activate/{created['id']}/", headers=client_service)
    assert second.json() == room

    shown = (await http.get(f"/api/appointments/{created['id']}", headers=agent)).json()
    assert shown["status"] == "ACTIVATED" and shown["roomAccess"] == room

    new_start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=9)
    moved = (
        await http.put(
            "/api/appointments/reschedule",
            json={"id": created["id"], "start": iso(new_start), "duration": "PT5M", "timezone": "UTC"},
            headers=agent,
        )
    ).json()
    assert moved["roomAccess"]["url"] == room["url"]
    assert moved["roomAccess"]["expires"] != room["expires"]
    assert datetime.fromisoformat(moved["roomAccess"]["expires"]) > new_start


async def test_end_then_no_more_changes(http: httpx.AsyncClient, auth: TokenFactory) -> None:
    agent = auth(AGENT, sub="agent-end")
    created = await _schedule(http, agent)
    ended = await http.put(f"/api/appointments/{created['id']}/end", headers=agent)
    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "ENDED" and ended.json()["interaction"]["state"] == "ENDED"

    again = await http.put("/api/appointments", json={"id": created["id"], "title": "late"}, headers=agent)
    assert again.status_code == 409, again.text
    assert (await http.get(f"/api/appointments/{created['id']}", headers=agent)).json()["status"] == "ENDED"


async def test_delete_is_204_then_404(http: httpx.AsyncClient, auth: TokenFactory) -> None:
    agent = auth(AGENT)
    created = await _schedule(http, agent)
    deleted = await http.delete(f"/api/appointments/{created['id']}", headers=agent)
    assert deleted.status_code == 204 and deleted.content == b""
    assert (await http.get(f"/api/appointments/{created['id']}", headers=agent)).status_code == 404
    assert (await http.delete(f"/api/appointments/{created['id']}", headers=agent)).status_code == 404
    update = await http.put("/api/appointments", json={"id": created["id"], "title": "x"}, headers=agent)
    assert update.status_code == 404


@pytest.mark.parametrize("path", ["/api/appointments/{id}", "/api/appointments/{id}/"])
async def test_paths_work_with_and_without_trailing_slash(
    http: httpx.AsyncClient, auth: TokenFactory, path: str
) -> None:
    agent = auth(AGENT)
    created = await _schedule(http, agent)
    assert (await http.get(path.format(id=created["id"]), headers=agent)).status_code == 200


async def test_unknown_appointment_is_404(http: httpx.AsyncClient, auth: TokenFactory) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    agent, client_service = auth(AGENT), auth(CLIENT_SERVICE)
    assert (await http.get(f"/api/appointments/{missing}", headers=agent)).status_code == 404
    assert (
        await http.post(f"/api/appointments/activate/{missing}", headers=client_service)
    ).status_code == 404
    assert (await http.put(f"/api/appointments/{missing}/end", headers=agent)).status_code == 404
    body = (await http.delete(f"/api/appointments/{missing}", headers=agent)).json()
    assert body["status"] == 404 and body["message"]


async def test_health_and_openapi(http: httpx.AsyncClient) -> None:
    health = await http.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "up"
    schema = (await http.get("/schema/openapi.json")).json()
    for path in (
        "/api/appointments",
        "/api/appointments/reschedule",
        "/api/appointments/{id}/end",
    ):
        assert path in schema["paths"], sorted(schema["paths"])
    assert "jwtBearerToken" in schema["components"]["securitySchemes"]
    # The read answers bytes it encoded itself (api.encoded_response); its body is still documented.
    read = schema["paths"]["/api/appointments/{id}"]["get"]["responses"]["200"]
    assert read["content"]["application/json"]["schema"]["$ref"].endswith("/GetAppointmentResponse"), read
    assert (await http.get("/schema/swagger")).status_code == 200
