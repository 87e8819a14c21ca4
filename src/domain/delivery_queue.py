"""How one subscription's webhook deliveries queue up: in order, capped, and for a day at most.

A receiver that is down holds back only its own queue; so that it cannot hold it back for ever,
or make it grow without end, every delivery is given up a day after its change (`GIVE_UP`), and a
queue keeps at most `MAX_QUEUED` deliveries: past that, the oldest not yet being sent is dropped
(its receiver missed more than that many changes; the next event carries the appointment as it is).
"""

from datetime import datetime, timedelta

from domain.workflow_state import QueuedDelivery

GIVE_UP = timedelta(hours=24)
# At most 20 subscriptions an application (api.webhooks.routes) times this: a bounded state.
MAX_QUEUED = 50


def expires(changed_at: datetime) -> datetime:
    return changed_at + GIVE_UP


def deadline(delivery: QueuedDelivery) -> datetime:
    """When the delivery is given up; a day after its change also for deliveries carried over from
    runs that did not stamp one, so that no run restarts the day."""
    return delivery.expires_at or expires(delivery.event.timestamp)


def enqueue(
    queue: tuple[QueuedDelivery, ...], delivery: QueuedDelivery, *, sending: bool
) -> tuple[tuple[QueuedDelivery, ...], QueuedDelivery | None]:
    """The queue with `delivery` at its end, and the delivery dropped to make room, if any.

    `sending`: the head of the queue is being sent, and stays.
    """
    grown = (*queue, delivery)
    if len(grown) <= MAX_QUEUED:
        return grown, None
    first = 1 if sending else 0
    return (*grown[:first], *grown[first + 1 :]), grown[first]
