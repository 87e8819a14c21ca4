"""Concurrent writes resolve in order; concurrent creates with one Idempotency-Key make one."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text

from domain.access import Role
from tests.api.conftest import Stack, TokenFactory
from tests.support.requests import iso, schedule_body
from workflows.appointment import AppointmentWorkflow, workflow_id


async def test_fifty_concurrent_changes_all_resolve_in_version_order(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory
) -> None:
    agent = auth(Role.AGENT)
    created = (await http.post("/api/appointments", json=schedule_body(), headers=agent)).json()
    base = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)

    def change(n: int):
        if n % 2:
            body = {
                "id": created["id"],
                "start": iso(base + timedelta(minutes=n)),
                "duration": "PT5M",
                "timezone": "UTC",
            }
            return http.put("/api/appointments/reschedule", json=body, headers=agent)
        return http.put("/api/appointments", json={"id": created["id"], "title": f"title {n}"}, headers=agent)

    responses = await asyncio.gather(*(change(n) for n in range(50)))
    assert [r.status_code for r in responses] == [200] * 50
    versions = sorted(r.json()["version"] for r in responses)
    assert versions == list(range(2, 52))  # every change accepted once, none lost

    # The final state is the last accepted change, in the workflow and in the read model alike.
    last = max((r.json() for r in responses), key=lambda a: a["version"])
    state = await stack.temporal.get_workflow_handle(workflow_id(created["id"])).query(
        AppointmentWorkflow.appointment
    )
    assert (
        state.version == 51
        and state.title == last["title"]
        and state.start.isoformat().startswith(last["start"][:19])
    )
    fetched = (await http.get(f"/api/appointments/{created['id']}", headers=agent)).json()
    assert fetched == last


async def test_fifty_concurrent_creates_with_one_key_make_one_appointment(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str
) -> None:
    agent = auth(Role.AGENT, sub="idempotent-agent")
    key = {"Idempotency-Key": f"create-{uuid.uuid4()}"}
    body = schedule_body()
    responses = await asyncio.gather(
        *(http.post("/api/appointments", json=body, headers={**agent, **key}) for _ in range(50))
    )
    assert [r.status_code for r in responses] == [200] * 50
    assert len({r.json()["id"] for r in responses}) == 1
    async with stack.engine.connect() as conn:
        count = (
            await conn.execute(
                text("SELECT count(*) FROM appointments WHERE application_id = :a"), {"a": application_id}
            )
        ).scalar_one()
    assert count == 1

    # Another caller's identical key is another appointment; a later retry still finds the first.
    other = await http.post("/api/appointments", json=body, headers={**auth(Role.AGENT), **key})
    assert other.json()["id"] != responses[0].json()["id"]
    retry = await http.post("/api/appointments", json=body, headers={**agent, **key})
    assert retry.json()["id"] == responses[0].json()["id"]


async def test_a_key_of_a_deleted_appointment_is_not_reused(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    agent = auth(Role.AGENT, sub="deleting-agent")
    key = {"Idempotency-Key": f"create-{uuid.uuid4()}"}
    body = schedule_body()
    created = (await http.post("/api/appointments", json=body, headers={**agent, **key})).json()
    assert (await http.delete(f"/api/appointments/{created['id']}", headers=agent)).status_code == 204
    for _ in range(50):
        again = await http.post("/api/appointments", json=body, headers={**agent, **key})
        if again.status_code == 409:
            break
        await asyncio.sleep(0.1)  # the workflow completes just after the deletion is answered
    assert again.status_code == 409 and again.json()["field"] == "Idempotency-Key"


async def test_malformed_keys_are_400(http: httpx.AsyncClient, auth: TokenFactory) -> None:
    for bad in ("", "x" * 300, "spaces are not allowed"):
        response = await http.post(
            "/api/appointments", json=schedule_body(), headers={**auth(Role.AGENT), "Idempotency-Key": bad}
        )
        assert response.status_code == 400 and response.json()["field"] == "Idempotency-Key", response.text


async def test_other_creating_posts_honour_the_key(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    agent = auth(Role.AGENT)
    created = (await http.post("/api/appointments", json=schedule_body(), headers=agent)).json()
    key = {"Idempotency-Key": f"customer-{uuid.uuid4()}"}
    body = {"id": created["id"], "customer": {"name": {"firstName": "Second"}}}
    added = await asyncio.gather(
        *(
            http.post("/api/appointments/participants/customers", json=body, headers={**agent, **key})
            for _ in range(10)
        )
    )
    assert {r.status_code for r in added} == {200}
    final = (await http.get(f"/api/appointments/{created['id']}", headers=agent)).json()
    assert len(final["participantIds"]) == len(created["participantIds"]) + 1

    admin = {**auth(Role.ADMIN), "Idempotency-Key": f"hook-{uuid.uuid4()}"}
    hook = {"url": "http://127.0.0.1:9999/hook", "events": ["*"], "secret": "0123456789abcdef0123"}
    made = await asyncio.gather(
        *(
            http.post(f"/api/applications/{application_id}/webhooks", json=hook, headers=admin)
            for _ in range(10)
        )
    )
    assert {r.status_code for r in made} == {201} and len({r.json()["id"] for r in made}) == 1
    listed = await http.get(f"/api/applications/{application_id}/webhooks", headers=auth(Role.ADMIN))
    assert len(listed.json()) == 1


async def test_a_key_reused_with_another_body_is_422_and_the_same_body_the_first_result(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    agent = auth(Role.AGENT)
    key = {"Idempotency-Key": f"reuse-{uuid.uuid4()}"}
    body = schedule_body()
    first = await http.post("/api/appointments", json=body, headers={**agent, **key})
    assert first.status_code == 200, first.text
    # The same request in another key order is the same request.
    reordered = dict(reversed(list(body.items())))
    again = await http.post("/api/appointments", json=reordered, headers={**agent, **key})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other = await http.post("/api/appointments", json={**body, "title": "Other"}, headers={**agent, **key})
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key", other.text

    customer_key = {"Idempotency-Key": f"reuse-{uuid.uuid4()}"}
    add = {"id": first.json()["id"], "customer": {"name": {"firstName": "Sue"}}}
    made = await http.post(
        "/api/appointments/participants/customers", json=add, headers={**agent, **customer_key}
    )
    assert made.status_code == 200
    changed = {**add, "customer": {"name": {"firstName": "Bob"}}}
    refused = await http.post(
        "/api/appointments/participants/customers", json=changed, headers={**agent, **customer_key}
    )
    assert refused.status_code == 422

    admin = {**auth(Role.ADMIN), "Idempotency-Key": f"reuse-{uuid.uuid4()}"}
    hook = {"url": "http://127.0.0.1:9999/hook", "events": ["*"], "secret": "0123456789abcdef0123"}
    path = f"/api/applications/{application_id}/webhooks"
    assert (await http.post(path, json=hook, headers=admin)).status_code == 201
    assert (
        await http.post(path, json={**hook, "events": ["APPOINTMENT_CREATED"]}, headers=admin)
    ).status_code == 422


async def test_a_refused_request_leaves_its_key_unused(http: httpx.AsyncClient, auth: TokenFactory) -> None:
    agent = auth(Role.AGENT)
    key = {"Idempotency-Key": f"refused-{uuid.uuid4()}"}
    bad = await http.post(
        "/api/appointments", json=schedule_body(start="2000-01-01T00:00:00Z"), headers={**agent, **key}
    )
    assert bad.status_code == 400
    good = await http.post("/api/appointments", json=schedule_body(), headers={**agent, **key})
    assert good.status_code == 200, good.text
