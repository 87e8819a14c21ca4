"""Signed webhooks delivered by the appointment workflow to a real HTTP receiver on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import httpx

from domain.access import Role
from tests.api.conftest import Stack, TokenFactory
from tests.api.test_notification_flow import _configure
from tests.support.receiver import Received, Receiver
from tests.support.requests import iso, schedule_body

SECRET = "whsec-0123456789abcdef0123"


async def _subscribe(
    http: httpx.AsyncClient,
    auth: TokenFactory,
    application_id: str,
    url: str,
    events: list[str] | None = None,
) -> dict:
    response = await http.post(
        f"/api/applications/{application_id}/webhooks",
        json={"url": url, "events": events or ["*"], "secret": SECRET, "headers": {"X-Tenant": "t1"}},
        headers=auth(Role.ADMIN),
    )
    assert response.status_code == 201, response.text
    return response.json()


def _verify(received: Received) -> dict:
    """What a receiver does: check the signature over the raw body, then parse it."""
    t, v1 = (part.split("=", 1)[1] for part in received.headers["x-webhook-signature"].split(","))
    expected = hmac.new(SECRET.encode(), f"{t}.".encode() + received.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(v1, expected)
    assert abs(time.time() - int(t)) < 300
    return json.loads(received.body)


async def test_every_change_arrives_once_signed_and_in_version_order(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str, receiver: Receiver
) -> None:
    await _subscribe(http, auth, application_id, receiver.url("/all"))
    agent, supervisor, client_service = (
        auth(Role.AGENT, sub="a-1"),
        auth(Role.SUPERVISOR),
        auth(Role.CLIENT_SERVICE),
    )
    created = (await http.post("/api/appointments", json=schedule_body(), headers=agent)).json()
    appointment_id = created["id"]
    steps = [
        http.put("/api/appointments", json={"id": appointment_id, "title": "New"}, headers=agent),
        http.put(
            "/api/appointments/reschedule",
            json={
                "id": appointment_id,
                "start": iso(datetime.now(UTC).replace(microsecond=0) + timedelta(days=4)),
                "duration": "PT15M",
                "timezone": "UTC",
            },
            headers=agent,
        ),
        http.post(
            "/api/appointments/participants/agents",
            json={"id": appointment_id, "userId": "a-2"},
            headers=agent,
        ),
        http.delete(f"/api/appointments/{appointment_id}/participants/a-2", headers=agent),
        http.put(
            "/api/appointments/reassign", json={"id": appointment_id, "userId": "a-3"}, headers=supervisor
        ),
        http.post(f"/api/appointments/activate/{appointment_id}", headers=client_service),
        http.put(f"/api/appointments/{appointment_id}/end", headers=auth(Role.AGENT, sub="a-3")),
    ]
    for step in steps:
        assert (await step).status_code == 200
    received = await receiver.wait_for("/all", 8)
    bodies = [_verify(r) for r in received]
    assert [b["type"] for b in bodies] == [
        "APPOINTMENT_CREATED",
        "APPOINTMENT_UPDATED",
        "APPOINTMENT_RESCHEDULED",
        "PARTICIPANT_ADDED",
        "PARTICIPANT_REMOVED",
        "APPOINTMENT_REASSIGNED",
        "APPOINTMENT_ACTIVATED",
        "APPOINTMENT_ENDED",
    ]
    assert [b["version"] for b in bodies] == list(range(1, 9))
    assert {b["appointmentId"] for b in bodies} == {appointment_id}
    assert all(b["applicationId"] == application_id for b in bodies)
    assert bodies[-1]["payload"]["status"] == "ENDED" and bodies[1]["payload"]["title"] == "New"
    assert len({b["id"] for b in bodies}) == 8
    assert all(r.headers["x-tenant"] == "t1" and r.headers["x-webhook-id"] for r in received)


async def test_cancellation_and_reminder_events(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str, receiver: Receiver
) -> None:
    await _configure(http, stack.mail, auth, application_id)  # notifications with a one-minute reminder
    await _subscribe(
        http, auth, application_id, receiver.url("/some"), ["REMINDER_SENT", "APPOINTMENT_CANCELLED"]
    )
    agent = auth(Role.AGENT)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=63)
    created = (await http.post("/api/appointments", json=schedule_body(start=start), headers=agent)).json()
    await receiver.wait_for("/some", 1, timeout=20)
    assert (await http.delete(f"/api/appointments/{created['id']}", headers=agent)).status_code == 204
    bodies = [_verify(r) for r in await receiver.wait_for("/some", 2)]
    assert [b["type"] for b in bodies] == ["REMINDER_SENT", "APPOINTMENT_CANCELLED"]


async def test_server_errors_are_retried_until_success(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str, receiver: Receiver
) -> None:
    receiver.statuses["/flaky"] = [500, 503, 200]
    webhook = await _subscribe(http, auth, application_id, receiver.url("/flaky"), ["APPOINTMENT_CREATED"])
    await http.post("/api/appointments", json=schedule_body(), headers=auth(Role.AGENT))
    received = await receiver.wait_for("/flaky", 3, timeout=20)
    assert len({r.headers["x-webhook-id"] for r in received}) == 1  # the same event, retried
    log = await http.get(
        f"/api/applications/{application_id}/webhooks/{webhook['id']}/deliveries", headers=auth(Role.ADMIN)
    )
    attempts = sorted(log.json(), key=lambda a: a["attempt"])
    assert [(a["attempt"], a["statusCode"]) for a in attempts] == [(1, 500), (2, 503), (3, 200)]


async def test_gone_disables_the_subscription(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str, receiver: Receiver
) -> None:
    receiver.statuses["/gone"] = [410]
    webhook = await _subscribe(http, auth, application_id, receiver.url("/gone"))
    agent = auth(Role.AGENT)
    created = (await http.post("/api/appointments", json=schedule_body(), headers=agent)).json()
    await receiver.wait_for("/gone", 1)
    admin = auth(Role.ADMIN)
    url = f"/api/applications/{application_id}/webhooks/{webhook['id']}"
    for _ in range(50):
        if not (await http.get(url, headers=admin)).json()["enabled"]:
            break
        await asyncio.sleep(0.1)
    assert (await http.get(url, headers=admin)).json()["enabled"] is False
    await http.put("/api/appointments", json={"id": created["id"], "title": "x"}, headers=agent)
    await asyncio.sleep(1)
    assert len(receiver.at("/gone")) == 1


async def test_other_client_errors_are_not_retried(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str, receiver: Receiver
) -> None:
    receiver.statuses["/bad"] = [400]
    await _subscribe(http, auth, application_id, receiver.url("/bad"), ["APPOINTMENT_CREATED"])
    await http.post("/api/appointments", json=schedule_body(), headers=auth(Role.AGENT))
    await receiver.wait_for("/bad", 1)
    await asyncio.sleep(2.5)
    assert len(receiver.at("/bad")) == 1


async def test_a_hanging_receiver_does_not_delay_others(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str, receiver: Receiver
) -> None:
    receiver.hanging.add("/hang")
    await _subscribe(http, auth, application_id, receiver.url("/hang"))
    await _subscribe(http, auth, application_id, receiver.url("/fine"))
    agent = auth(Role.AGENT)
    started = time.monotonic()
    created = await http.post("/api/appointments", json=schedule_body(), headers=agent)
    assert created.status_code == 200
    await http.put("/api/appointments", json={"id": created.json()["id"], "title": "t"}, headers=agent)
    assert time.monotonic() - started < 5  # the API never waits for webhooks
    await receiver.wait_for("/fine", 2, timeout=5)
    assert time.monotonic() - started < 5
