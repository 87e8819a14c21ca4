"""What the appointment workflow hands its activities, and what it gets back.

Everything refers to the appointment by id and version where it can: the read model holds the
appointment, `webhook_events` what each receiver is sent, so no activity input or workflow queue
carries more copies of it than the one the state holds.
"""

from domain.model import Appointment, Base
from domain.notifications import Message
from domain.workflow_state import ChangeEvent, QueuedDelivery


class ChangeRecord(Base):
    """The appointment as it is now and the changes announced since the last record: projected
    into the read model, and matched to the application's webhook subscriptions, in one call."""

    appointment: Appointment
    events: tuple[ChangeEvent, ...] = ()
    # False when the read model already has this version (an event with no change, such as a
    # reminder sent): only the events are matched and kept.
    project: bool = True


class RecordedChange(Base):
    """The deliveries the recorded events owe, in the order of the events."""

    deliveries: tuple[QueuedDelivery, ...] = ()


class MessageRequest(Base):
    appointment_id: str
    message: Message


class WebhookPost(Base):
    appointment_id: str
    delivery: QueuedDelivery
