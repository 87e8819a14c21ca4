"""No value a client sends can wedge an appointment's workflow or make a query fail.

Every timestamp, size and count is bounded at the API (domain.limits): a value beyond its bound
is a 400 or a 413 naming the field, nothing is started or changed, and the appointment stays
usable for the next, reasonable change. The same holds for customers scheduling themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from domain.access import Role
from domain.limits import MAX_APPOINTMENT_BYTES, MAX_MAP_BYTES, MAX_MAP_ENTRIES, MAX_PARTICIPANTS
from tests.api.conftest import Stack, TokenFactory
from tests.support.requests import iso, schedule_body
from workflows.appointment import AppointmentWorkflow, workflow_id

AGENT, SUPERVISOR = Role.AGENT, Role.SUPERVISOR
FAR = ["9999-12-31T23:59:59Z", "9999-12-31T23:00:00+14:00", "0001-01-01T00:00:00Z", "3000-01-01T00:00:00Z"]


def _error(response: httpx.Response, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status and body["field"] == field, body
    return body


async def _rows(stack: Stack, application_id: str) -> int:
    async with stack.engine.connect() as conn:
        query = text("SELECT count(*) FROM appointments WHERE application_id = :a")
        return (await conn.execute(query, {"a": application_id})).scalar_one()


async def _schedule(http: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = await http.post("/api/appointments", json=schedule_body(**overrides), headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


# -- time ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("start", FAR)
async def test_timestamps_at_the_edges_of_time_are_400_everywhere(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str, start: str
) -> None:
    agent = auth(AGENT)
    _error(await http.post("/api/appointments", json=schedule_body(start=start), headers=agent), 400, "start")
    assert await _rows(stack, application_id) == 0
    # The public counts, which anyone may call, answer 400 as well, never 500.
    count = {"applicationId": application_id, "start": start, "timeFrame": "P31D"}
    _error(await http.get("/api/appointments/count", params=count), 400, "start")
    overlap = {"applicationId": application_id, "start": start, "duration": "P31D"}
    _error(await http.get("/api/appointments/overlap/count", params=overlap), 400, "start")
    listed = await http.get("/api/appointments", params={"range": f"{start},{start}"}, headers=agent)
    _error(listed, 400, "range")


async def test_the_last_moments_a_window_may_start_still_compute(
    http: httpx.AsyncClient, application_id: str
) -> None:
    latest = "2999-12-31T23:59:59Z"
    count = {"applicationId": application_id, "start": latest, "timeFrame": "P31D"}
    assert (await http.get("/api/appointments/count", params=count)).json() == []
    overlap = {"applicationId": application_id, "start": latest, "duration": "P31D"}
    assert (await http.get("/api/appointments/overlap/count", params=overlap)).json() == {"count": 0}


async def test_an_appointment_starts_within_the_horizon(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str
) -> None:
    agent = auth(AGENT)
    now = datetime.now(UTC).replace(microsecond=0)
    beyond = schedule_body(start=now + timedelta(days=731))
    error = _error(await http.post("/api/appointments", json=beyond, headers=agent), 400, "start")
    assert "730 days" in error["message"]
    created = await _schedule(http, agent, start=now + timedelta(days=729))
    moved = {
        "id": created["id"],
        "start": iso(now + timedelta(days=800)),
        "duration": "PT5M",
        "timezone": "UTC",
    }
    _error(await http.put("/api/appointments/reschedule", json=moved, headers=agent), 400, "start")
    # Refused by the workflow's validator: the appointment is unchanged and still takes changes.
    state = await stack.temporal.get_workflow_handle(workflow_id(created["id"])).query(
        AppointmentWorkflow.appointment
    )
    assert state.version == created["version"]
    ok = {"id": created["id"], "start": iso(now + timedelta(days=3)), "duration": "PT5M", "timezone": "UTC"}
    assert (await http.put("/api/appointments/reschedule", json=ok, headers=agent)).status_code == 200


# -- sizes and counts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"metadata": {"blob": "x" * MAX_MAP_BYTES}}, "metadata"),
        ({"metadata": {f"k{n}": n for n in range(MAX_MAP_ENTRIES + 1)}}, "metadata"),
        (
            {"interaction": {"customFields": {f"k{n}": "v" for n in range(MAX_MAP_ENTRIES + 1)}}},
            "interaction.customFields",
        ),
        (
            {"interaction": {"routing": {"properties": {"p": "v" * MAX_MAP_BYTES}}}},
            "interaction.routing.properties",
        ),
        ({"customer": {"metadata": {"blob": "x" * MAX_MAP_BYTES}}}, "customer.metadata"),
    ],
)
async def test_maps_of_the_clients_own_data_are_bounded(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str, override: dict, field: str
) -> None:
    response = await http.post("/api/appointments", json=schedule_body(**override), headers=auth(AGENT))
    _error(response, 413, field)
    assert await _rows(stack, application_id) == 0


async def test_ten_large_customers_leave_the_appointment_usable(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory
) -> None:
    """The appointment as a whole is bounded: customers near every per-field bound are accepted
    until the appointment would pass its bound, then refused with 413, and later changes work."""
    agent = auth(AGENT)
    created = await _schedule(http, agent)
    big = {"metadata": {f"k{n}": "x" * 150 for n in range(MAX_MAP_ENTRIES)}}
    answers = []
    for _ in range(10):
        answers.append(
            await http.post(
                "/api/appointments/participants/customers",
                json={"id": created["id"], "customer": big},
                headers=agent,
            )
        )
    statuses = [r.status_code for r in answers]
    assert 413 in statuses and set(statuses) == {200, 413}, statuses
    refused = next(r for r in answers if r.status_code == 413)
    assert (
        refused.json()["field"] == "customer"
        and f"{MAX_APPOINTMENT_BYTES // 1024} KiB" in refused.json()["message"]
    )
    state = await stack.temporal.get_workflow_handle(workflow_id(created["id"])).query(
        AppointmentWorkflow.appointment
    )
    assert len(state.participants) == len(created["participantIds"]) + statuses.count(200)
    updated = await http.put(
        "/api/appointments", json={"id": created["id"], "title": "still fine"}, headers=agent
    )
    assert updated.status_code == 200 and updated.json()["title"] == "still fine"


async def test_an_appointment_has_a_bounded_number_of_participants(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    supervisor = auth(SUPERVISOR)
    created = await _schedule(http, auth(AGENT))
    count = len(created["participantIds"])
    for n in range(MAX_PARTICIPANTS - count):
        added = await http.post(
            "/api/appointments/participants/agents",
            json={"id": created["id"], "userId": f"agent-{n}"},
            headers=supervisor,
        )
        assert added.status_code == 200, added.text
    extra_agent = {"id": created["id"], "userId": "one-too-many"}
    _error(
        await http.post("/api/appointments/participants/agents", json=extra_agent, headers=supervisor),
        413,
        "userId",
    )
    extra_customer = {"id": created["id"], "customer": {"name": {"firstName": "Late"}}}
    response = await http.post(
        "/api/appointments/participants/customers", json=extra_customer, headers=supervisor
    )
    _error(response, 413, "customer")
    # Making room makes room.
    removed = await http.delete(f"/api/appointments/{created['id']}/participants/agent-0", headers=supervisor)
    assert removed.status_code == 200
    assert (
        await http.post("/api/appointments/participants/agents", json=extra_agent, headers=supervisor)
    ).status_code == 200


@pytest.mark.parametrize(
    ("path", "body_of"),
    [
        (
            "/api/appointments/participants/agents",
            lambda appointment: {"id": appointment, "userId": "u" * 101},
        ),
        ("/api/appointments/reassign", lambda appointment: {"id": appointment, "userId": "u" * 101}),
    ],
)
async def test_ids_that_travel_into_the_workflow_are_bounded(
    http: httpx.AsyncClient, auth: TokenFactory, path: str, body_of: Any
) -> None:
    agent = auth(AGENT)
    created = await _schedule(http, agent)
    method = http.put if "reassign" in path else http.post
    _error(await method(path, json=body_of(created["id"]), headers=agent), 400, "userId")
    long_participant = f"/api/appointments/{created['id']}/participants/{'p' * 101}"
    _error(await http.delete(long_participant, headers=agent), 400, "pid")


async def test_tokens_with_oversized_identities_are_401(http: httpx.AsyncClient, auth: TokenFactory) -> None:
    for headers in (auth(AGENT, sub="s" * 201), auth(AGENT, application_id="a" * 101)):
        response = await http.post("/api/appointments", json=schedule_body(), headers=headers)
        assert response.status_code == 401, response.text


async def test_application_settings_are_bounded(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    """Every new appointment carries a copy of its application's settings into its workflow."""
    template = {"type": "CREATE", "channel": "EMAIL", "subject": "Booked", "textBody": "b" * 60_000}
    settings = {"notificationsActive": True, "templates": [template, template, template]}
    response = await http.put(
        f"/api/applications/{application_id}/settings", json=settings, headers=auth(Role.ADMIN)
    )
    _error(response, 413, "templates")
