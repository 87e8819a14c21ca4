"""What a legacy run of the appointment workflow (workflows.legacy) starts from: the appointment,
its policies, and what a previous run had already done or still owed, whole appointments in its
messages, events and deliveries. Runs of the current workflow start from
domain.workflow_state.AppointmentState, whose field names are these.

Defined here rather than in the workflow module: the worker's sandbox re-imports that module for
every workflow it runs, and a struct defined there would be a new class each time, whose
decoding msgspec would have to work out afresh (docs/BENCHMARKS.md).
"""

from domain.model import Appointment, Base, WorkflowPolicy
from domain.notifications import Notification, NotificationPolicy
from domain.webhooks import AppointmentEvent, WebhookDelivery


class AppointmentInput(Base):
    appointment: Appointment
    policy: WorkflowPolicy
    notifications: NotificationPolicy = NotificationPolicy()
    # Carried across continue-as-new: what the previous run had already done or still owed.
    projected_version: int = 0
    handled: tuple[str, ...] = ()
    outbox: tuple[Notification, ...] = ()
    events: tuple[AppointmentEvent, ...] = ()
    deliveries: tuple[WebhookDelivery, ...] = ()
