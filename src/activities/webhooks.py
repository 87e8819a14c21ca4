"""Webhook delivery: match an event to subscriptions, then POST it, signed, to each.

The secret and URL are read at delivery time, so they never enter workflow history and a
deleted subscription simply stops receiving.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import NamedTuple

import httpx
import msgspec
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.heartbeat import heartbeating
from activities.metrics import count_webhook_attempt
from domain.activity_io import WebhookPost
from domain.activity_names import DELIVER_WEBHOOK, MATCH_WEBHOOKS, POST_WEBHOOK
from domain.errors import DomainError
from domain.model import Appointment
from domain.views import appointment_view
from domain.webhooks import EventType, MatchRequest, WebhookDelivery, WebhookEvent
from outbound.delivery import DeliveryFailed, new_client, post
from outbound.webhook_urls import resolve_target
from storage.appointments import AppointmentStore
from storage.webhooks import WebhookStore

# Worth retrying: the receiver is overloaded, rate-limiting or briefly away.
_RETRIED_STATUSES = frozenset({408, 429})


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class WebhookActivities:
    def __init__(
        self,
        store: WebhookStore,
        appointments: AppointmentStore,
        *,
        allow_private: bool = False,
        allow_loopback: bool = False,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._store = store
        self._appointments = appointments
        self._allow_private = allow_private
        self._allow_loopback = allow_loopback
        self._client = client or new_client()

    @activity.defn(name=MATCH_WEBHOOKS)
    async def match(self, request: MatchRequest) -> list[str]:
        return [w.id for w in await self._store.matching(request.application_id, request.type.value)]

    @activity.defn(name=DELIVER_WEBHOOK)
    async def deliver(self, delivery: WebhookDelivery) -> None:
        """A legacy run's delivery: the event carries its appointment."""
        event = delivery.event
        appointment = event.appointment

        async def carried() -> bytes:
            return _body(event.id, event.type, event.timestamp, appointment, appointment.version)

        async with heartbeating():
            await self._send(
                delivery.webhook_id,
                Announced(event.id, event.type.value, appointment.id, appointment.version),
                carried,
            )

    @activity.defn(name=POST_WEBHOOK)
    async def post(self, request: WebhookPost) -> None:
        """A delivery of the current workflow: the body was recorded with the change."""
        event = request.delivery.event

        async def recorded() -> bytes:
            body = await self._store.event_body(event.id)
            if body is not None:
                return body
            # Carried over from a legacy run, whose events were never recorded: as the appointment is now.
            appointment = await self._appointments.get(request.appointment_id)
            if appointment is None:
                raise ApplicationError(f"appointment {request.appointment_id} is not in the read model")
            return _body(
                event.id, event.type, event.timestamp, appointment, event.version or appointment.version
            )

        async with heartbeating():
            await self._send(
                request.delivery.webhook_id,
                Announced(event.id, event.type.value, request.appointment_id, event.version),
                recorded,
            )

    async def _send(self, webhook_id: str, event: Announced, body_of: Callable[[], Awaitable[bytes]]) -> None:
        found = await self._store.for_delivery(webhook_id)
        if found is None:
            return  # deleted since: nothing to deliver
        webhook, secret = found
        if not webhook.enabled:
            return
        body = await body_of()
        headers = {
            **webhook.headers,
            "Content-Type": "application/json",
            "X-Webhook-Id": event.id,
            "X-Webhook-Signature": signature(secret, int(time.time()), body),
        }
        attempt = activity.info().attempt
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        refused = False
        try:
            # Checked again at every attempt, and sent to the addresses checked: the name may
            # resolve elsewhere than when it was saved.
            target = await resolve_target(
                webhook.url, allow_private=self._allow_private, allow_loopback=self._allow_loopback
            )
            status = await post(self._client, target, body, headers)
        except DomainError as exc:
            error, refused = exc.message, True
        except DeliveryFailed as exc:
            error = str(exc)
        finally:
            await self._store.record_attempt(
                webhook.id,
                event.id,
                event.type,
                event.appointment_id,
                event.version,
                attempt,
                status,
                error,
                int((time.monotonic() - started) * 1000),
            )
        count_webhook_attempt(status)
        if refused:
            raise ApplicationError(f"webhook not sent: {error}", non_retryable=True)
        if status is None:
            raise ApplicationError(f"webhook not reached: {error}")  # retried with backoff
        if 200 <= status < 300:
            return
        if status == 410:
            await self._store.disable(webhook.id, "the receiver answered 410 Gone")
            return
        if status >= 500 or status in _RETRIED_STATUSES:
            raise ApplicationError(f"webhook answered {status}")
        raise ApplicationError(f"webhook answered {status}; not retried", non_retryable=True)


class Announced(NamedTuple):
    """What the delivery log records of an event."""

    id: str
    type: str
    appointment_id: str
    version: int


def _body(
    event_id: str, kind: EventType, timestamp: datetime, appointment: Appointment, version: int
) -> bytes:
    return msgspec.json.encode(
        WebhookEvent(
            id=event_id,
            type=kind,
            timestamp=timestamp,
            application_id=appointment.application_id,
            appointment_id=appointment.id,
            version=version,
            payload=msgspec.to_builtins(appointment_view(appointment)),
        )
    )
