"""Webhook subscriptions and the log of their delivery attempts.

The secret is read only by `for_delivery` (to sign); every other read leaves it out. Delivery
attempts are kept for RETENTION and go with their subscription when it is deleted.
"""

from __future__ import annotations

import builtins
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import Row, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.webhooks import ALL_EVENTS, DeliveryAttempt, Webhook

# An attempt's error is a diagnosis, not a dump of the receiver's answer.
MAX_ERROR_LENGTH = 1000
RETENTION = timedelta(days=30)
# Event bodies outlive their deliveries, which are given up a day after the change.
EVENT_RETENTION = timedelta(days=3)

_COLUMNS = "id, application_id, url, events, headers::text AS headers, enabled, disabled_reason, created_at"

_CREATE = text(
    f"""
    INSERT INTO webhooks (id, application_id, url, events, secret, headers)
    VALUES (:id, :app, :url, CAST(:events AS text[]), :secret, CAST(:headers AS jsonb))
    RETURNING {_COLUMNS}
    """
)
# Serializes the subscriptions made for one application, so that the limit holds.
_LOCK_APPLICATION = text("SELECT pg_advisory_xact_lock(hashtextextended('webhooks:' || :app, 0))")
_COUNT = text("SELECT count(*) FROM webhooks WHERE application_id = :app")
_LIST = text(f"SELECT {_COLUMNS} FROM webhooks WHERE application_id = :app ORDER BY created_at, id")
_GET = text(f"SELECT {_COLUMNS} FROM webhooks WHERE application_id = :app AND id = :id")
_DELETE = text("DELETE FROM webhooks WHERE application_id = :app AND id = :id")
_MATCHING = text(
    f"""
    SELECT {_COLUMNS} FROM webhooks
    WHERE application_id = :app AND enabled AND events && CAST(:types AS text[])
    ORDER BY created_at, id
    """
)
_FOR_DELIVERY = text(f"SELECT {_COLUMNS}, secret FROM webhooks WHERE id = :id")
_DISABLE = text("UPDATE webhooks SET enabled = false, disabled_reason = :reason WHERE id = :id AND enabled")
# Through SELECT ... FROM webhooks: an attempt of a subscription deleted meanwhile is dropped.
_RECORD = text(
    """
    INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, appointment_id, version, attempt,
                                    status_code, error, duration_ms)
    SELECT id, :event_id, :event_type, :appointment_id, :version, :attempt, :status_code, :error,
           :duration_ms
    FROM webhooks WHERE id = :id
    """
)
_PRUNE = text(
    "DELETE FROM webhook_deliveries WHERE webhook_id = :id AND attempted_at < now() - CAST(:keep AS interval)"
)
_EVENT_BODY = text("SELECT body FROM webhook_events WHERE event_id = :id")
_PRUNE_EVENTS = text("DELETE FROM webhook_events WHERE created_at < :before")
_DELIVERIES = text(
    """
    SELECT d.event_id, d.event_type, d.appointment_id, d.version, d.attempt, d.status_code, d.error,
           d.duration_ms, d.attempted_at
    FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
    WHERE w.application_id = :app AND d.webhook_id = :id
    ORDER BY d.attempted_at DESC, d.id DESC
    LIMIT :limit
    """
)


class TooManyWebhooks(Exception):
    """The application already has as many subscriptions as it may."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"an application has at most {limit} webhooks")
        self.limit = limit


def _uuid(webhook_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(webhook_id)
    except (ValueError, TypeError, AttributeError):
        return None


def _webhook(row: Row[Any]) -> Webhook:
    return Webhook(
        id=str(row.id),
        application_id=row.application_id,
        url=row.url,
        events=tuple(row.events),
        created_at=row.created_at,
        headers=msgspec.json.decode(row.headers, type=dict[str, str]),
        enabled=row.enabled,
        disabled_reason=row.disabled_reason,
    )


class WebhookStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(
        self,
        application_id: str,
        url: str,
        events: tuple[str, ...],
        secret: str,
        headers: dict[str, str],
        *,
        max_per_application: int | None = None,
        webhook_id: str | None = None,
    ) -> Webhook:
        """Store a new, enabled subscription; its id is `webhook_id` or a fresh UUID.

        With `webhook_id` (from an Idempotency-Key) an existing subscription of that id is
        returned as it is. Raises TooManyWebhooks when the application already has
        `max_per_application`.
        """
        params = {
            "id": uuid.UUID(webhook_id) if webhook_id else uuid.uuid4(),
            "app": application_id,
            "url": url,
            "events": builtins.list(events),
            "secret": secret,
            "headers": msgspec.json.encode(headers).decode(),
        }
        async with self._engine.begin() as conn:
            await conn.execute(_LOCK_APPLICATION, {"app": application_id})
            if webhook_id and (existing := (await conn.execute(_GET, params)).first()):
                return _webhook(existing)
            if max_per_application is not None:
                count = (await conn.execute(_COUNT, {"app": application_id})).scalar_one()
                if count >= max_per_application:
                    raise TooManyWebhooks(max_per_application)
            row = (await conn.execute(_CREATE, params)).one()
        return _webhook(row)

    async def list(self, application_id: str) -> builtins.list[Webhook]:
        """The application's subscriptions, oldest first."""
        async with self._engine.connect() as conn:
            rows = (await conn.execute(_LIST, {"app": application_id})).all()
        return [_webhook(row) for row in rows]

    async def get(self, application_id: str, webhook_id: str) -> Webhook | None:
        """None when there is no such subscription in this application (or the id is no UUID)."""
        key = _uuid(webhook_id)
        if key is None:
            return None
        async with self._engine.connect() as conn:
            row = (await conn.execute(_GET, {"app": application_id, "id": key})).first()
        return None if row is None else _webhook(row)

    async def delete(self, application_id: str, webhook_id: str) -> bool:
        """Delete the subscription and its delivery log; False when there was none."""
        key = _uuid(webhook_id)
        if key is None:
            return False
        async with self._engine.begin() as conn:
            result = await conn.execute(_DELETE, {"app": application_id, "id": key})
        return result.rowcount > 0

    async def matching(self, application_id: str, event_type: str) -> builtins.list[Webhook]:
        """The application's enabled subscriptions that want `event_type`, oldest first."""
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(_MATCHING, {"app": application_id, "types": [event_type, ALL_EVENTS]})
            ).all()
        return [_webhook(row) for row in rows]

    async def for_delivery(self, webhook_id: str) -> tuple[Webhook, str] | None:
        """The subscription (enabled or not) with its secret; None once it is deleted."""
        key = _uuid(webhook_id)
        if key is None:
            return None
        async with self._engine.connect() as conn:
            row = (await conn.execute(_FOR_DELIVERY, {"id": key})).first()
        return None if row is None else (_webhook(row), row.secret)

    async def event_body(self, event_id: str) -> bytes | None:
        """What receivers of the event are sent (JSON), as recorded with the change."""
        async with self._engine.connect() as conn:
            body = (await conn.execute(_EVENT_BODY, {"id": event_id})).scalar_one_or_none()
        return None if body is None else body.encode()

    async def prune(self, now: datetime | None = None) -> int:
        """Forget event bodies no delivery can need any more."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                _PRUNE_EVENTS, {"before": (now or datetime.now(UTC)) - EVENT_RETENTION}
            )
        return result.rowcount

    async def disable(self, webhook_id: str, reason: str) -> bool:
        """Stop deliveries to the subscription; False when it was already disabled or is gone.

        The first reason is kept.
        """
        key = _uuid(webhook_id)
        if key is None:
            return False
        async with self._engine.begin() as conn:
            result = await conn.execute(_DISABLE, {"id": key, "reason": reason})
        return result.rowcount > 0

    async def record_attempt(
        self,
        webhook_id: str,
        event_id: str,
        event_type: str,
        appointment_id: str,
        version: int,
        attempt: int,
        status_code: int | None,
        error: str | None,
        duration_ms: int | None,
    ) -> None:
        """Log one attempt (dropped if the subscription is gone); attempts past RETENTION go."""
        key = _uuid(webhook_id)
        if key is None:
            return
        params = {
            "id": key,
            "event_id": event_id,
            "event_type": event_type,
            "appointment_id": appointment_id,
            "version": version,
            "attempt": attempt,
            "status_code": status_code,
            "error": None if error is None else error[:MAX_ERROR_LENGTH],
            "duration_ms": duration_ms,
        }
        try:
            async with self._engine.begin() as conn:
                await conn.execute(_RECORD, params)
                await conn.execute(_PRUNE, {"id": key, "keep": RETENTION})
        except IntegrityError:
            # The subscription was deleted between the SELECT and the insert.
            return

    async def deliveries(
        self, application_id: str, webhook_id: str, limit: int = 100
    ) -> builtins.list[DeliveryAttempt]:
        """The subscription's latest attempts, newest first; empty for an unknown subscription."""
        key = _uuid(webhook_id)
        if key is None:
            return []
        async with self._engine.connect() as conn:
            rows = (await conn.execute(_DELIVERIES, {"app": application_id, "id": key, "limit": limit})).all()
        return [
            DeliveryAttempt(
                event_id=row.event_id,
                type=row.event_type,
                appointment_id=row.appointment_id,
                version=row.version,
                attempt=row.attempt,
                status_code=row.status_code,
                error=row.error,
                duration_ms=row.duration_ms,
                attempted_at=row.attempted_at,
            )
            for row in rows
        ]
