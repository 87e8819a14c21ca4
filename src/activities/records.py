"""Recording an appointment's changes: the read model, and what each webhook receiver is sent."""

from __future__ import annotations

import functools
from typing import Any

import msgspec
from temporalio import activity

from activities.metrics import count_projection_failure
from domain.activity_io import ChangeRecord, RecordedChange
from domain.activity_names import RECORD_CHANGE
from domain.delivery_queue import expires
from domain.views import appointment_view
from domain.webhooks import WebhookEvent
from domain.workflow_state import ChangeEvent, QueuedDelivery
from storage.changes import ChangeStore


class RecordActivities:
    def __init__(self, changes: ChangeStore) -> None:
        self._changes = changes

    @activity.defn(name=RECORD_CHANGE)
    async def record(self, change: ChangeRecord) -> RecordedChange:
        appointment = change.appointment

        # Each event shows the appointment as it is recorded: the change's own version, unless
        # several changes are recorded together (then the latest of them). Only the events some
        # subscription wants are written out.
        @functools.cache
        def payload() -> Any:
            return msgspec.to_builtins(appointment_view(appointment))

        def body_of(event: ChangeEvent) -> str:
            return msgspec.json.encode(
                WebhookEvent(
                    id=event.id,
                    type=event.type,
                    timestamp=event.timestamp,
                    application_id=appointment.application_id,
                    appointment_id=appointment.id,
                    version=event.version or appointment.version,
                    payload=payload(),
                )
            ).decode()

        try:
            owed = await self._changes.record(appointment, change.events, body_of, project=change.project)
        except Exception:
            count_projection_failure()
            raise
        activity.logger.info(
            "recorded appointment %s version %s: %d events, %d deliveries",
            appointment.id,
            appointment.version,
            len(change.events),
            len(owed),
        )
        return RecordedChange(
            deliveries=tuple(
                QueuedDelivery(webhook_id=webhook_id, event=event, expires_at=expires(event.timestamp))
                for webhook_id, event in owed
            )
        )
