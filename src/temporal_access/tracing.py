"""Temporal's OpenTelemetry interceptor, with timer-driven work in traces of its own.

`TracingInterceptor` carries the caller's span context in a header of every start, Update and
activity, so that an API request, the workflow's handling of it and the activities it schedules
are one trace. Workflow-side, it runs every handler and task in the context the workflow was
started with: an activity scheduled days later, when a reminder's timer fires, would become one
more child of the appointment's creation. Such activities (`timer_driven`: a reminder's or
follow-up's mail, the recording and the webhook deliveries of its `REMINDER_SENT` event) run here
under a new root span, `Timer:<activity type>`, linked to the span that scheduled them (the workflow's
zero-length `StartActivity` span, which stays in the appointment's trace as the marker of when
the timer fired); the activity's own spans (the SDK's `RunActivity`, SMTP, the webhook POST) are
its children.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from temporalio import activity
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput

from domain.activity_io import ChangeRecord, MessageRequest, WebhookPost
from domain.notifications import NotificationType
from domain.webhooks import EventType

# Messages sent because their time came, not because somebody changed the appointment.
TIMED_MESSAGES = frozenset({NotificationType.REMINDER, NotificationType.FOLLOW_UP})
TIMED_EVENTS = frozenset({EventType.REMINDER_SENT})


def timer_driven(args: Sequence[Any]) -> bool:
    """Whether an activity with these arguments does what a timer of the workflow started."""
    match args:
        case [MessageRequest(message=message)]:
            return message.type in TIMED_MESSAGES
        case [WebhookPost(delivery=delivery)]:
            return delivery.event.type in TIMED_EVENTS
        case [ChangeRecord(project=False, events=events)] if events:
            # Only events to record, all of what a timer did (a reminder sent): no change of the appointment.
            return all(event.type in TIMED_EVENTS for event in events)
    return False


class ServiceTracing(TracingInterceptor):
    """`TracingInterceptor`, the client's and the worker's, with `timer_driven` activities as roots."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _TimerDrivenRoots(super().intercept_activity(next), self)


class _TimerDrivenRoots(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, root: TracingInterceptor) -> None:
        super().__init__(next)
        self._root = root

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        if not timer_driven(input.args):
            return await super().execute_activity(input)
        # Without its header, the SDK's activity span is a child of the current span: this root.
        headers = dict(input.headers)
        scheduled_by = headers.pop(self._root.header_key, None)
        input.headers = headers
        links: list[trace.Link] = []
        if scheduled_by is not None:
            carrier = self._root.payload_converter.from_payloads([scheduled_by])[0]
            span_context = trace.get_current_span(
                self._root.text_map_propagator.extract(carrier)
            ).get_span_context()
            if span_context.is_valid:
                links.append(trace.Link(span_context))
        info = activity.info()
        with self._root.tracer.start_as_current_span(
            f"Timer:{info.activity_type}",
            context=Context(),
            links=links,
            attributes={"temporalWorkflowID": info.workflow_id or "", "temporalActivityID": info.activity_id},
        ):
            return await super().execute_activity(input)
