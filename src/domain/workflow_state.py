"""The whole state of an appointment's workflow, as one struct: what a run starts from and what
it hands the next run when it continues as new.

Defined here rather than in the workflow module: the worker's sandbox re-imports that module for
every workflow it runs, and a struct defined there would be a new class each time, whose decoding
msgspec would have to work out afresh (docs/BENCHMARKS.md).

Bounded for any lifetime (docs/workflows.md, "Bounds"): the appointment (domain.limits) and the
settings snapshot are bounded at the API; events and deliveries refer to the appointment by id and
version (their bodies are recorded in PostgreSQL); the outbox holds at most one message per thing to
tell (domain.notification_plan.enqueue); handled keys only those of the current schedule; each
subscription's queue is capped and every delivery expires a day after its change
(domain.delivery_queue).

The field names are those of the input of runs started before this struct (workflows.legacy): a
legacy run that continues as new hands over its input, which decodes as this struct.
"""

from datetime import datetime

from domain.model import Appointment, Base, WorkflowPolicy
from domain.notifications import Message, NotificationPolicy
from domain.webhooks import EventType


class ChangeEvent(Base):
    """A change the workflow announces: which, and the version it made; what a webhook receiver is
    sent is recorded with it in PostgreSQL (`record_change`)."""

    id: str
    type: EventType
    timestamp: datetime
    version: int = 0
    detail: str = ""


class QueuedDelivery(Base):
    """One event owed to one subscription, until `expires_at` (domain.delivery_queue.deadline)."""

    webhook_id: str
    event: ChangeEvent
    expires_at: datetime | None = None


class AppointmentState(Base):
    appointment: Appointment
    policy: WorkflowPolicy
    notifications: NotificationPolicy = NotificationPolicy()
    # The version the read model has; a lower one means a record is owed.
    projected_version: int = 0
    # Keys of messages already queued or skipped: each is sent at most once.
    handled: tuple[str, ...] = ()
    outbox: tuple[Message, ...] = ()
    # Announced changes not yet recorded, then each subscription's deliveries in order.
    events: tuple[ChangeEvent, ...] = ()
    deliveries: tuple[QueuedDelivery, ...] = ()
