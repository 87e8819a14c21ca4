"""storage.webhooks against the real database: matching, delivery reads, disabling, the log."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.webhooks import EventType
from storage.webhooks import TooManyWebhooks, WebhookStore

SECRET = "0123456789abcdef-secret"


@pytest.fixture
def store(engine: AsyncEngine) -> WebhookStore:
    return WebhookStore(engine)


@pytest.fixture
def application_id() -> str:
    return f"store-{uuid.uuid4()}"


async def test_matching_takes_enabled_subscriptions_that_want_the_type(
    store: WebhookStore, application_id: str
) -> None:
    created = await store.create(application_id, "http://127.0.0.1:9/a", ("APPOINTMENT_CREATED",), SECRET, {})
    everything = await store.create(application_id, "http://127.0.0.1:9/b", ("*",), SECRET, {"X-A": "1"})
    cancelled = await store.create(
        application_id, "http://127.0.0.1:9/c", ("APPOINTMENT_CANCELLED",), SECRET, {}
    )
    await store.create(str(uuid.uuid4()), "http://127.0.0.1:9/d", ("*",), SECRET, {})

    assert [w.id for w in await store.matching(application_id, "APPOINTMENT_CREATED")] == [
        created.id,
        everything.id,
    ]
    assert [w.id for w in await store.matching(application_id, "APPOINTMENT_CANCELLED")] == [
        everything.id,
        cancelled.id,
    ]
    assert await store.disable(everything.id, "gone")
    assert not await store.disable(everything.id, "again")
    assert [w.id for w in await store.matching(application_id, "APPOINTMENT_CREATED")] == [created.id]
    assert [w.id for w in await store.list(application_id)] == [created.id, everything.id, cancelled.id]

    found = await store.for_delivery(everything.id)
    assert found is not None
    webhook, secret = found
    assert secret == SECRET
    assert webhook.enabled is False and webhook.disabled_reason == "gone" and webhook.headers == {"X-A": "1"}
    assert webhook.wants(EventType.APPOINTMENT_ENDED)


async def test_unknown_and_foreign_ids(store: WebhookStore, application_id: str) -> None:
    webhook = await store.create(application_id, "http://127.0.0.1:9/a", ("*",), SECRET, {})
    for webhook_id in ("nope", str(uuid.uuid4())):
        assert await store.get(application_id, webhook_id) is None
        assert await store.for_delivery(webhook_id) is None
        assert not await store.delete(application_id, webhook_id)
        assert await store.deliveries(application_id, webhook_id) == []
        assert not await store.disable(webhook_id, "x")
    assert await store.get("another", webhook.id) is None
    assert not await store.delete("another", webhook.id)
    assert await store.get(application_id, webhook.id) == webhook


async def test_the_log_goes_with_its_subscription(
    store: WebhookStore, application_id: str, engine: AsyncEngine
) -> None:
    webhook = await store.create(application_id, "http://127.0.0.1:9/a", ("*",), SECRET, {})
    await store.record_attempt(webhook.id, "e", "APPOINTMENT_CREATED", "a", 1, 1, 204, None, 5)
    await store.record_attempt(webhook.id, "e", "APPOINTMENT_CREATED", "a", 1, 2, None, "x" * 5000, None)
    attempts = await store.deliveries(application_id, webhook.id)
    assert [a.attempt for a in attempts] == [2, 1]
    assert attempts[0].error is not None and len(attempts[0].error) == 1000
    assert await store.deliveries("another", webhook.id) == []

    assert await store.delete(application_id, webhook.id)
    # An attempt finishing after the deletion is dropped, not an error.
    await store.record_attempt(webhook.id, "e", "APPOINTMENT_CREATED", "a", 1, 3, 204, None, 5)
    async with engine.connect() as conn:
        left = await conn.execute(
            text("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = :id"),
            {"id": uuid.UUID(webhook.id)},
        )
    assert left.scalar_one() == 0


async def test_the_limit_per_application(store: WebhookStore, application_id: str) -> None:
    for _ in range(2):
        await store.create(application_id, "http://127.0.0.1:9/a", ("*",), SECRET, {}, max_per_application=2)
    with pytest.raises(TooManyWebhooks):
        await store.create(application_id, "http://127.0.0.1:9/a", ("*",), SECRET, {}, max_per_application=2)
