"""The deprecated `GET /api/appointments/eligible/`: not-yet-activated appointments, for client services."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from domain.access import Role
from tests.api.conftest import TokenFactory
from tests.support.requests import schedule_body

AGENT, SUPERVISOR, CLIENT_SERVICE, CUSTOMER = Role.AGENT, Role.SUPERVISOR, Role.CLIENT_SERVICE, Role.CUSTOMER
ELIGIBLE = "/api/appointments/eligible/"


async def _schedule(http: httpx.AsyncClient, headers: dict[str, str], start: datetime) -> dict[str, Any]:
    response = await http.post("/api/appointments/", json=schedule_body(start=start), headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_eligible_lists_scheduled_appointments_starting_within_the_time_frame(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    agent, client_service = auth(AGENT, sub="agent-eligible"), auth(CLIENT_SERVICE, sub="cs-eligible")

    soon = await _schedule(http, agent, now + timedelta(days=1))
    soon_by_client_service = await _schedule(http, client_service, now + timedelta(hours=30))
    later = await _schedule(http, agent, now + timedelta(days=5))
    activated = await _schedule(http, agent, now + timedelta(days=1, hours=1))
    activation = await http.post(f"/api/appointments/activate/{activated['id']}", headers=client_service)
    assert activation.status_code == 200, activation.text
    ended = await _schedule(http, agent, now + timedelta(days=1, hours=2))
    assert (await http.put(f"/api/appointments/{ended['id']}/end", headers=agent)).status_code == 200
    deleted = await _schedule(http, agent, now + timedelta(days=1, hours=3))
    assert (await http.delete(f"/api/appointments/{deleted['id']}", headers=agent)).status_code == 204
    await _schedule(http, auth(AGENT, application_id=str(uuid.uuid4())), now + timedelta(days=1))

    response = await http.get(ELIGIBLE, params={"timeFrame": "PT48H"}, headers=client_service)
    assert response.status_code == 200, response.text
    assert response.headers["deprecation"] == "true"
    listed = response.json()
    assert isinstance(listed, list)
    assert sorted(a["id"] for a in listed) == sorted([soon["id"], soon_by_client_service["id"]])
    assert all(a["status"] == "SCHEDULED" and "roomAccess" not in a for a in listed)
    # Each item is the appointment as GET shows it to the client service.
    for item in listed:
        shown = await http.get(f"/api/appointments/{item['id']}", headers=client_service)
        assert item == shown.json()

    everything = await http.get(ELIGIBLE, headers=client_service)
    assert everything.status_code == 200, everything.text
    assert everything.headers["deprecation"] == "true"
    assert sorted(a["id"] for a in everything.json()) == sorted(
        [soon["id"], soon_by_client_service["id"], later["id"]]
    )

    # Without the trailing slash, and in the contract's quoted form.
    plain = await http.get(
        "/api/appointments/eligible", params={"timeFrame": '"PT48H"'}, headers=client_service
    )
    assert plain.status_code == 200, plain.text
    assert sorted(a["id"] for a in plain.json()) == sorted(a["id"] for a in listed)

    # A narrower frame leaves out the one 30 hours away.
    narrow = await http.get(ELIGIBLE, params={"timeFrame": "PT25H"}, headers=client_service)
    assert [a["id"] for a in narrow.json()] == [soon["id"]]


async def test_eligible_of_an_application_without_appointments_is_empty(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    response = await http.get(ELIGIBLE, params={"timeFrame": "PT48H"}, headers=auth(CLIENT_SERVICE))
    assert response.status_code == 200 and response.json() == []
    assert response.headers["deprecation"] == "true"


@pytest.mark.parametrize("role", [AGENT, SUPERVISOR, CUSTOMER, Role.ADMIN])
async def test_roles_other_than_client_service_are_403(
    http: httpx.AsyncClient, auth: TokenFactory, role: Role
) -> None:
    response = await http.get(ELIGIBLE, params={"timeFrame": "PT48H"}, headers=auth(role))
    assert response.status_code == 403, response.text
    assert response.json()["status"] == 403


async def test_without_a_token_it_is_401(http: httpx.AsyncClient) -> None:
    assert (await http.get(ELIGIBLE, params={"timeFrame": "PT48H"})).status_code == 401


@pytest.mark.parametrize("time_frame", ["48 hours", "PT0S", "P1M", "-PT1H", "P400D"])
async def test_a_bad_time_frame_is_400(http: httpx.AsyncClient, auth: TokenFactory, time_frame: str) -> None:
    response = await http.get(ELIGIBLE, params={"timeFrame": time_frame}, headers=auth(CLIENT_SERVICE))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == 400 and body["field"] == "timeFrame", body
