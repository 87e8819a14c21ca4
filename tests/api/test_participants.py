"""Participants of an appointment and its reassignment, over HTTP against the real stack."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from domain.access import Role
from tests.api.conftest import TokenFactory
from tests.support.requests import schedule_body

AGENT, SUPERVISOR, CLIENT_SERVICE, CUSTOMER = Role.AGENT, Role.SUPERVISOR, Role.CLIENT_SERVICE, Role.CUSTOMER
MISSING = "00000000-0000-4000-8000-000000000000"

NEW_CUSTOMER: dict[str, Any] = {
    "contact": {"primaryEmail": "sue@provider.net", "primaryPhone": "2105550100"},
    "metadata": {"refNo": "CS-1234", "vip": True},
    "name": {"firstName": "Sue Ellen", "lastName": "Ewing"},
    "username": "sueellen@myorg.com",
}


async def _schedule(http: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await http.post("/api/appointments/", json=schedule_body(), headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _customer_id(appointment: dict[str, Any]) -> str:
    (customer,) = [p["id"] for p in appointment["participantIds"] if p["type"] == "CUSTOMER"]
    return customer


def _agents(appointment: dict[str, Any]) -> list[str]:
    return [p["id"] for p in appointment["participantIds"] if p["type"] == "AGENT"]


async def _add_agent(
    http: httpx.AsyncClient, headers: dict[str, str], appointment_id: str, user_id: str
) -> httpx.Response:
    return await http.post(
        "/api/appointments/participants/agents/",
        json={"id": appointment_id, "userId": user_id},
        headers=headers,
    )


async def _add_customer(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    appointment_id: str,
    customer: dict[str, Any] = NEW_CUSTOMER,
) -> httpx.Response:
    return await http.post(
        "/api/appointments/participants/customers/",
        json={"id": appointment_id, "customer": customer},
        headers=headers,
    )


async def _reassign(
    http: httpx.AsyncClient, headers: dict[str, str], appointment_id: str, user_id: str
) -> httpx.Response:
    return await http.put(
        "/api/appointments/reassign/", json={"id": appointment_id, "userId": user_id}, headers=headers
    )


# -- adding agents ---------------------------------------------------------------------------


async def test_add_agent_then_the_same_agent_again_or_the_organizer_is_409(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    organizer = auth(AGENT, sub="organizer-1")
    created = await _schedule(http, organizer)

    added = await _add_agent(http, organizer, created["id"], "agent-2")
    assert added.status_code == 200, added.text
    body = added.json()
    assert {"id": "agent-2", "type": "AGENT"} in body["participantIds"]
    assert sorted(_agents(body)) == ["agent-2", "organizer-1"]
    assert body["organizer"] == {"id": "organizer-1", "type": "AGENT"}
    assert body["version"] == created["version"] + 1
    assert (await http.get(f"/api/appointments/{created['id']}", headers=organizer)).json() == body

    again = await _add_agent(http, organizer, created["id"], "agent-2")
    assert again.status_code == 409, again.text
    assert again.json()["status"] == 409 and again.json()["field"] == "userId"

    the_organizer = await _add_agent(http, organizer, created["id"], "organizer-1")
    assert the_organizer.status_code == 409, the_organizer.text
    assert the_organizer.json()["field"] == "userId"

    # Nothing changed by the refusals.
    assert (await http.get(f"/api/appointments/{created['id']}", headers=organizer)).json() == body


async def test_an_added_agent_may_read_the_appointment_and_add_others(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    created = await _schedule(http, auth(AGENT, sub="organizer-2"))
    added = auth(AGENT, sub="helper-2")
    assert (await http.get(f"/api/appointments/{created['id']}", headers=added)).status_code == 403

    assert (await _add_agent(http, auth(SUPERVISOR), created["id"], "helper-2")).status_code == 200
    assert (await http.get(f"/api/appointments/{created['id']}", headers=added)).status_code == 200
    third = await _add_agent(http, added, created["id"], "helper-3")
    assert third.status_code == 200, third.text
    assert sorted(_agents(third.json())) == ["helper-2", "helper-3", "organizer-2"]


# -- adding customers ------------------------------------------------------------------------


async def test_add_customer_gets_a_new_participant_with_its_own_id(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    organizer = auth(AGENT)
    created = await _schedule(http, organizer)
    existing = _customer_id(created)

    response = await _add_customer(http, organizer, created["id"])
    assert response.status_code == 200, response.text
    body = response.json()
    customers = [p["id"] for p in body["participantIds"] if p["type"] == "CUSTOMER"]
    assert len(customers) == 2 and existing in customers
    (new_id,) = [c for c in customers if c != existing]
    assert new_id not in (existing, created["id"]) and new_id not in _agents(body)
    uuid.UUID(new_id)
    assert body["version"] == created["version"] + 1

    # The same customer details again: yet another participant.
    second = (await _add_customer(http, organizer, created["id"])).json()
    assert len({p["id"] for p in second["participantIds"] if p["type"] == "CUSTOMER"}) == 3


async def test_add_customer_with_a_bad_body_is_400(http: httpx.AsyncClient, auth: TokenFactory) -> None:
    organizer = auth(AGENT)
    created = await _schedule(http, organizer)
    bad = await _add_customer(http, organizer, created["id"], {"name": {"firstName": 7}})
    assert bad.status_code == 400, bad.text
    assert bad.json()["field"] == "customer.name.firstName"
    missing = await http.post(
        "/api/appointments/participants/customers/", json={"id": created["id"]}, headers=organizer
    )
    assert missing.status_code == 400 and missing.json()["field"] == "customer"


# -- reading a participant -------------------------------------------------------------------


async def test_get_participant_returns_the_customer_as_sent_and_agents_by_user_id(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    organizer = auth(AGENT, sub="organizer-3")
    created = await _schedule(http, organizer)
    added = (await _add_customer(http, organizer, created["id"])).json()
    new_id = next(
        p["id"]
        for p in added["participantIds"]
        if p["type"] == "CUSTOMER" and p["id"] != _customer_id(created)
    )

    response = await http.get(f"/api/appointments/{created['id']}/participants/{new_id}", headers=organizer)
    assert response.status_code == 200, response.text
    assert response.json() == {"id": new_id, "type": "CUSTOMER", **NEW_CUSTOMER}

    original = schedule_body()["customer"]
    first = await http.get(
        f"/api/appointments/{created['id']}/participants/{_customer_id(created)}/", headers=organizer
    )
    assert first.status_code == 200, first.text
    assert first.json() == {"id": _customer_id(created), "type": "CUSTOMER", **original}

    agent = await http.get(f"/api/appointments/{created['id']}/participants/organizer-3", headers=organizer)
    assert agent.status_code == 200, agent.text
    assert agent.json()["type"] == "AGENT" and agent.json()["id"] == "organizer-3"

    unknown = await http.get(f"/api/appointments/{created['id']}/participants/nobody", headers=organizer)
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["status"] == 404
    unknown_appointment = await http.get(
        f"/api/appointments/{MISSING}/participants/organizer-3", headers=organizer
    )
    assert unknown_appointment.status_code == 404


async def test_a_customer_reads_only_customer_participants_of_its_own_conference(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    created = await _schedule(http, auth(AGENT, sub="organizer-4"))
    customer_id = _customer_id(created)
    own = auth(CUSTOMER, conference_id=created["id"])

    seen = await http.get(f"/api/appointments/{created['id']}/participants/{customer_id}", headers=own)
    assert seen.status_code == 200, seen.text
    assert seen.json()["id"] == customer_id and seen.json()["type"] == "CUSTOMER"

    agent = await http.get(f"/api/appointments/{created['id']}/participants/organizer-4", headers=own)
    assert agent.status_code == 404, agent.text

    other = auth(CUSTOMER, conference_id=str(uuid.uuid4()))
    foreign = await http.get(f"/api/appointments/{created['id']}/participants/{customer_id}", headers=other)
    assert foreign.status_code == 403, foreign.text


async def test_a_customer_no_longer_reads_participants_once_the_appointment_ended(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    organizer = auth(AGENT, sub="organizer-13")
    created = await _schedule(http, organizer)
    path = f"/api/appointments/{created['id']}/participants/{_customer_id(created)}"
    own = auth(CUSTOMER, conference_id=created["id"])
    assert (await http.get(path, headers=own)).status_code == 200
    assert (await http.put(f"/api/appointments/{created['id']}/end", headers=organizer)).status_code == 200
    assert (await http.get(path, headers=own)).status_code == 404
    # Agents still see it.
    assert (await http.get(path, headers=organizer)).status_code == 200


async def test_get_participant_role_matrix(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    created = await _schedule(http, auth(AGENT, sub="organizer-5"))
    path = f"/api/appointments/{created['id']}/participants/{_customer_id(created)}"

    assert (await http.get(path, headers=auth(SUPERVISOR))).status_code == 200
    assert (await http.get(path, headers=auth(CLIENT_SERVICE))).status_code == 403
    assert (await http.get(path, headers=auth(Role.ADMIN))).status_code == 403
    assert (await http.get(path, headers=auth(AGENT, sub="stranger"))).status_code == 403
    other_app = str(uuid.uuid4())
    assert (await http.get(path, headers=auth(SUPERVISOR, application_id=other_app))).status_code == 404


# -- removing a participant ------------------------------------------------------------------


async def test_delete_participant_returns_the_appointment_without_it_then_404(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    organizer = auth(AGENT, sub="organizer-6")
    created = await _schedule(http, organizer)
    customer_id = _customer_id(created)
    with_agent = (await _add_agent(http, organizer, created["id"], "helper-6")).json()

    removed = await http.delete(
        f"/api/appointments/{created['id']}/participants/{customer_id}", headers=organizer
    )
    assert removed.status_code == 200, removed.text
    body = removed.json()
    assert customer_id not in [p["id"] for p in body["participantIds"]]
    assert body["participantIds"] == [p for p in with_agent["participantIds"] if p["id"] != customer_id]
    assert body["version"] == with_agent["version"] + 1
    assert (await http.get(f"/api/appointments/{created['id']}", headers=organizer)).json() == body

    gone = await http.get(f"/api/appointments/{created['id']}/participants/{customer_id}", headers=organizer)
    assert gone.status_code == 404

    again = await http.delete(
        f"/api/appointments/{created['id']}/participants/{customer_id}", headers=organizer
    )
    assert again.status_code == 404, again.text
    assert again.json()["status"] == 404

    helper = await http.delete(f"/api/appointments/{created['id']}/participants/helper-6/", headers=organizer)
    assert helper.status_code == 200, helper.text
    assert _agents(helper.json()) == ["organizer-6"]


async def test_the_organizer_cannot_be_removed(http: httpx.AsyncClient, auth: TokenFactory) -> None:
    organizer = auth(AGENT, sub="organizer-7")
    created = await _schedule(http, organizer)
    response = await http.delete(
        f"/api/appointments/{created['id']}/participants/organizer-7", headers=organizer
    )
    assert response.status_code == 409, response.text
    assert response.json()["status"] == 409
    by_supervisor = await http.delete(
        f"/api/appointments/{created['id']}/participants/organizer-7", headers=auth(SUPERVISOR)
    )
    assert by_supervisor.status_code == 409
    assert (await http.get(f"/api/appointments/{created['id']}", headers=organizer)).json() == created


# -- reassignment ----------------------------------------------------------------------------


async def test_reassign_makes_the_agent_organizer_and_only_agent_keeping_customers(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    old = auth(AGENT, sub="old-organizer")
    created = await _schedule(http, old)
    await _add_agent(http, old, created["id"], "helper-8")
    with_customers = (await _add_customer(http, old, created["id"])).json()
    customers = [p for p in with_customers["participantIds"] if p["type"] == "CUSTOMER"]
    assert len(customers) == 2

    response = await _reassign(http, old, created["id"], "new-organizer")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["organizer"] == {"id": "new-organizer", "type": "AGENT"}
    assert _agents(body) == ["new-organizer"]
    assert [p for p in body["participantIds"] if p["type"] == "CUSTOMER"] == customers
    assert body["version"] == with_customers["version"] + 1

    assert (await http.get(f"/api/appointments/{created['id']}", headers=old)).status_code == 403
    assert (
        await http.get(f"/api/appointments/{created['id']}", headers=auth(AGENT, sub="helper-8"))
    ).status_code == 403
    new = auth(AGENT, sub="new-organizer")
    assert (await http.get(f"/api/appointments/{created['id']}", headers=new)).json() == body


async def test_reassign_to_the_current_organizer_changes_nothing(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    organizer = auth(AGENT, sub="organizer-9")
    created = await _schedule(http, organizer)
    response = await _reassign(http, organizer, created["id"], "organizer-9")
    assert response.status_code == 200, response.text
    assert response.json()["version"] == created["version"]
    assert response.json() == created
    assert (await http.get(f"/api/appointments/{created['id']}", headers=organizer)).json() == created


async def test_a_supervisor_may_reassign_and_manage_participants(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    created = await _schedule(http, auth(AGENT, sub="organizer-10"))
    supervisor = auth(SUPERVISOR)
    assert (await _add_agent(http, supervisor, created["id"], "helper-10")).status_code == 200
    customer = await _add_customer(http, supervisor, created["id"])
    assert customer.status_code == 200
    removed = await http.delete(
        f"/api/appointments/{created['id']}/participants/{_customer_id(created)}", headers=supervisor
    )
    assert removed.status_code == 200, removed.text
    reassigned = await _reassign(http, supervisor, created["id"], "helper-10")
    assert reassigned.status_code == 200, reassigned.text
    assert reassigned.json()["organizer"] == {"id": "helper-10", "type": "AGENT"}


async def test_no_change_to_an_ended_appointment(http: httpx.AsyncClient, auth: TokenFactory) -> None:
    organizer = auth(AGENT, sub="organizer-11")
    created = await _schedule(http, organizer)
    assert (await http.put(f"/api/appointments/{created['id']}/end", headers=organizer)).status_code == 200
    assert (await _add_agent(http, organizer, created["id"], "late")).status_code == 409
    assert (await _add_customer(http, organizer, created["id"])).status_code == 409
    assert (await _reassign(http, organizer, created["id"], "late")).status_code == 409
    removed = await http.delete(
        f"/api/appointments/{created['id']}/participants/{_customer_id(created)}", headers=organizer
    )
    assert removed.status_code == 409


async def test_writes_to_a_deleted_or_unknown_appointment_are_404(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    organizer = auth(AGENT, sub="organizer-12")
    created = await _schedule(http, organizer)
    assert (await http.delete(f"/api/appointments/{created['id']}", headers=organizer)).status_code == 204
    for appointment_id in (created["id"], MISSING):
        assert (await _add_agent(http, organizer, appointment_id, "late")).status_code == 404
        assert (await _add_customer(http, organizer, appointment_id)).status_code == 404
        assert (await _reassign(http, organizer, appointment_id, "late")).status_code == 404
        path = f"/api/appointments/{appointment_id}/participants/{_customer_id(created)}"
        assert (await http.delete(path, headers=organizer)).status_code == 404
        assert (await http.get(path, headers=organizer)).status_code == 404


# -- role matrix -----------------------------------------------------------------------------

WRITES = ["add_agent", "add_customer", "reassign", "remove_participant"]


async def _write(
    http: httpx.AsyncClient, headers: dict[str, str], op: str, appointment: dict[str, Any]
) -> httpx.Response:
    if op == "add_agent":
        return await _add_agent(http, headers, appointment["id"], "someone-else")
    if op == "add_customer":
        return await _add_customer(http, headers, appointment["id"])
    if op == "reassign":
        return await _reassign(http, headers, appointment["id"], "someone-else")
    return await http.delete(
        f"/api/appointments/{appointment['id']}/participants/{_customer_id(appointment)}", headers=headers
    )


@pytest.mark.parametrize("op", WRITES)
@pytest.mark.parametrize("role", [CLIENT_SERVICE, CUSTOMER, Role.ADMIN])
async def test_roles_the_contract_does_not_allow_are_403(
    http: httpx.AsyncClient, auth: TokenFactory, op: str, role: Role
) -> None:
    organizer = auth(AGENT)
    created = await _schedule(http, organizer)
    response = await _write(http, auth(role, conference_id=created["id"]), op, created)
    assert response.status_code == 403, response.text
    assert response.json()["status"] == 403
    assert (await http.get(f"/api/appointments/{created['id']}", headers=organizer)).json() == created


@pytest.mark.parametrize("op", WRITES)
async def test_an_agent_not_involved_is_403_and_another_applications_supervisor_404(
    http: httpx.AsyncClient, auth: TokenFactory, op: str
) -> None:
    organizer = auth(AGENT)
    created = await _schedule(http, organizer)

    stranger = await _write(http, auth(AGENT, sub="stranger"), op, created)
    assert stranger.status_code == 403, stranger.text

    foreign = await _write(http, auth(SUPERVISOR, application_id=str(uuid.uuid4())), op, created)
    assert foreign.status_code == 404, foreign.text

    assert (await http.get(f"/api/appointments/{created['id']}", headers=organizer)).json() == created

    allowed = await _write(http, auth(SUPERVISOR), op, created)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["version"] == created["version"] + 1


@pytest.mark.parametrize("op", WRITES)
async def test_unauthenticated_writes_are_401(http: httpx.AsyncClient, auth: TokenFactory, op: str) -> None:
    created = await _schedule(http, auth(AGENT))
    response = await _write(http, {}, op, created)
    assert response.status_code == 401, response.text
