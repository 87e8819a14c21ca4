"""Webhook deliveries go where they were checked, and their log says what happened, no more.

Real sockets on loopback: a receiver served by uvicorn, a raw TCP server that never stops
sending, and the delivery activity run as Temporal runs it (ActivityEnvironment) against the
session's PostgreSQL. Only name resolution is replaced, to play a DNS server that changes its
answer between two lookups (rebinding).
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.webhooks import WebhookActivities
from domain.activity_io import WebhookPost
from domain.webhooks import EventType, Webhook
from domain.workflow_state import ChangeEvent, QueuedDelivery
from outbound.delivery import DEADLINE, new_client, post
from outbound.webhook_urls import resolve_target
from storage.appointments import AppointmentStore
from storage.webhooks import WebhookStore
from tests.support.factories import new_appointment, principal
from tests.support.receiver import Receiver

HOST = "hooks.example.test"


class RebindingDns:
    """Answers `HOST` with the receiver's loopback address first, then with another address."""

    def __init__(self, first: str, later: str) -> None:
        self.answers = [first, later]
        self.lookups = 0

    async def getaddrinfo(self, host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        assert host == HOST, host
        address = self.answers[min(self.lookups, 1)]
        self.lookups += 1
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> RebindingDns:
    fake = RebindingDns("127.0.0.1", "127.0.0.2")
    monkeypatch.setattr(
        asyncio.BaseEventLoop, "getaddrinfo", lambda _loop, *a, **k: fake.getaddrinfo(*a, **k)
    )
    return fake


async def _subscription(engine: AsyncEngine, url: str) -> tuple[WebhookStore, Webhook]:
    store = WebhookStore(engine)
    return store, await store.create(str(uuid.uuid4()), url, ("*",), "s" * 20, {"X-Tenant": "t"})


async def _post(activities: WebhookActivities, engine: AsyncEngine, webhook_id: str) -> None:
    """One delivery of a change, as the workflow hands it to `post_webhook`."""
    appointment = new_appointment(principal())
    await AppointmentStore(engine).project(appointment)
    event = ChangeEvent(
        id=str(uuid.uuid4()),
        type=EventType.APPOINTMENT_CREATED,
        timestamp=datetime.now(UTC),
        version=appointment.version,
    )
    request = WebhookPost(
        appointment_id=appointment.id, delivery=QueuedDelivery(webhook_id=webhook_id, event=event)
    )
    await ActivityEnvironment().run(activities.post, request)


def _activities(store: WebhookStore, engine: AsyncEngine, **allowed: bool) -> WebhookActivities:
    return WebhookActivities(store, AppointmentStore(engine), **allowed)


async def test_the_request_goes_to_the_checked_address_under_the_names_host(receiver: Receiver) -> None:
    checked = await resolve_target(
        f"http://127.0.0.1:{receiver.port}/x?y=1", allow_private=False, allow_loopback=True
    )
    # As if a name had been checked: its parts, and the address it resolved to.
    target = msgspec.structs.replace(
        checked, host=HOST, parts=checked.parts._replace(netloc=f"{HOST}:{receiver.port}")
    )
    async with new_client() as client:
        assert await post(client, target, b"{}", {"Content-Type": "application/json"}) == 200
    (received,) = receiver.at("/x")
    assert received.headers["host"] == f"{HOST}:{receiver.port}"


async def test_a_name_is_resolved_once_per_attempt_and_never_rebound(
    receiver: Receiver, dns: RebindingDns, engine: AsyncEngine
) -> None:
    store, webhook = await _subscription(engine, f"http://{HOST}:{receiver.port}/hook")
    activities = _activities(store, engine, allow_loopback=True)

    await _post(activities, engine, webhook.id)

    # Checked and sent on the first answer; the second (127.0.0.2) was never asked for.
    assert dns.lookups == 1
    (received,) = receiver.at("/hook")
    assert received.headers["host"] == f"{HOST}:{receiver.port}"
    (attempt,) = await store.deliveries(webhook.application_id, webhook.id)
    assert attempt.status_code == 200 and attempt.error is None


async def test_a_refused_or_silent_receiver_is_logged_in_a_few_fixed_words(engine: AsyncEngine) -> None:
    closed = _closed_port()
    store, webhook = await _subscription(engine, f"http://127.0.0.1:{closed}/hook")
    activities = _activities(store, engine, allow_loopback=True)
    with pytest.raises(ApplicationError, match="webhook not reached: could not connect or agree on TLS"):
        await _post(activities, engine, webhook.id)
    (attempt,) = await store.deliveries(webhook.application_id, webhook.id)
    # What the log says is ours: no errno, no resolver text, no address that was tried.
    assert attempt.error == "could not connect or agree on TLS" and attempt.status_code is None


async def test_an_address_that_is_not_allowed_is_never_connected_to(engine: AsyncEngine) -> None:
    store, webhook = await _subscription(engine, "http://10.0.0.1:8080/hook")
    activities = _activities(store, engine)  # the operator allows neither loopback nor private networks
    with pytest.raises(ApplicationError, match="webhook not sent") as refused:
        await _post(activities, engine, webhook.id)
    assert refused.value.non_retryable
    (attempt,) = await store.deliveries(webhook.application_id, webhook.id)
    assert attempt.status_code is None and "private address" in (attempt.error or "")


async def test_an_endless_answer_is_not_read(engine: AsyncEngine) -> None:
    """The receiver's status line is all a delivery reads: a body that never ends costs nothing."""

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            while True:
                writer.write(b"10000\r\n" + b"x" * 0x10000 + b"\r\n")
                await writer.drain()
        except (ConnectionError, OSError):
            return

    server = await asyncio.start_server(endless, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        target = await resolve_target(f"http://127.0.0.1:{port}/", allow_private=False, allow_loopback=True)
        started = time.monotonic()
        async with new_client() as client:
            assert await post(client, target, b"{}", {}) == 200
        assert time.monotonic() - started < DEADLINE / 4
    finally:
        server.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
