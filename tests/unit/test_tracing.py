"""The rules of tracing: when it is on and how it exports, the services' names, which activities
start traces of their own, the trace fields of JSON log lines."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from config.logs import JsonFormatter, trace_fields
from config.settings import Settings, SettingsError
from config.tracing import API_SERVICE, service_resource, start_tracing
from domain.activity_io import ChangeRecord, MessageRequest, WebhookPost
from domain.notifications import Message, NotificationType, Template
from domain.webhooks import EventType
from domain.workflow_state import ChangeEvent, QueuedDelivery
from temporal_access.tracing import timer_driven
from tests.support.factories import new_appointment, principal

ENDPOINT = "http://collector:4318"


def _protocol(**env: str) -> str | None:
    return Settings.from_env(env).otlp_protocol


def test_tracing_is_off_without_an_endpoint() -> None:
    assert _protocol() is None
    assert _protocol(OTEL_EXPORTER_OTLP_PROTOCOL="grpc", OTEL_SERVICE_NAME="x") is None
    assert _protocol(OTEL_EXPORTER_OTLP_ENDPOINT="") is None


def test_an_endpoint_turns_it_on_over_http_protobuf_by_default() -> None:
    assert _protocol(OTEL_EXPORTER_OTLP_ENDPOINT=ENDPOINT) == "http/protobuf"
    assert _protocol(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"{ENDPOINT}/v1/traces") == "http/protobuf"
    assert _protocol(OTEL_EXPORTER_OTLP_ENDPOINT=ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL="grpc") == "grpc"


def test_the_traces_protocol_wins_over_the_general_one() -> None:
    protocol = _protocol(
        OTEL_EXPORTER_OTLP_ENDPOINT=ENDPOINT,
        OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="http/protobuf",
    )
    assert protocol == "http/protobuf"


@pytest.mark.parametrize(
    ("name", "value"),
    [("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"), ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "thrift")],
)
def test_a_protocol_the_service_cannot_speak_is_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"{name} must be one of http/protobuf, grpc, got '{value}'"):
        _protocol(OTEL_EXPORTER_OTLP_ENDPOINT=ENDPOINT, **{name: value})


def test_the_sdk_switches_turn_it_off_whatever_the_endpoint() -> None:
    assert _protocol(OTEL_EXPORTER_OTLP_ENDPOINT=ENDPOINT, OTEL_SDK_DISABLED="true") is None
    assert _protocol(OTEL_EXPORTER_OTLP_ENDPOINT=ENDPOINT, OTEL_TRACES_EXPORTER="none") is None
    assert _protocol(OTEL_EXPORTER_OTLP_ENDPOINT=ENDPOINT, OTEL_SDK_DISABLED="false") == "http/protobuf"


def test_tracing_off_installs_no_provider() -> None:
    before = trace.get_tracer_provider()
    start_tracing(Settings.from_env({}), API_SERVICE)
    assert trace.get_tracer_provider() is before


def test_the_service_name_is_the_process_own_unless_the_variables_name_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"):
        monkeypatch.delenv(name, raising=False)
    assert service_resource(API_SERVICE).attributes["service.name"] == "appointments-api"
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=desk,deployment.environment=prod")
    resource = service_resource(API_SERVICE).attributes
    assert resource["service.name"] == "desk" and resource["deployment.environment"] == "prod"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "front")
    assert service_resource(API_SERVICE).attributes["service.name"] == "front"


NOW = datetime(2030, 1, 1, tzinfo=UTC)


def _message(kind: NotificationType) -> MessageRequest:
    template = Template(type=kind, subject="-", text_body="-")
    return MessageRequest(appointment_id="a", message=Message(key=f"a:{kind}", type=kind, template=template))


def _event(kind: EventType) -> ChangeEvent:
    return ChangeEvent(id=f"e-{kind}", type=kind, timestamp=NOW, version=1)


def _post(kind: EventType) -> WebhookPost:
    return WebhookPost(appointment_id="a", delivery=QueuedDelivery(webhook_id="w", event=_event(kind)))


def _record(*kinds: EventType, project: bool = False) -> ChangeRecord:
    return ChangeRecord(
        appointment=new_appointment(principal()), events=tuple(map(_event, kinds)), project=project
    )


@pytest.mark.parametrize(
    ("args", "timed"),
    [
        ([_message(NotificationType.REMINDER)], True),
        ([_message(NotificationType.FOLLOW_UP)], True),
        ([_message(NotificationType.CREATE)], False),
        ([_message(NotificationType.RESCHEDULE)], False),
        ([_post(EventType.REMINDER_SENT)], True),
        ([_post(EventType.APPOINTMENT_CREATED)], False),
        ([_record(EventType.REMINDER_SENT)], True),
        ([_record(EventType.REMINDER_SENT, EventType.APPOINTMENT_UPDATED)], False),
        ([_record(EventType.REMINDER_SENT, project=True)], False),
        ([_record()], False),
        ([], False),
        (["appointment-1"], False),
    ],
)
def test_what_a_timer_starts_gets_a_trace_of_its_own(args: list[object], timed: bool) -> None:
    assert timer_driven(args) is timed


def test_json_lines_name_the_current_span_and_only_a_valid_one() -> None:
    span = TracerProvider().get_tracer("tests").start_span("work")
    context = span.get_span_context()
    fields = {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}
    assert trace_fields(span) == fields and len(fields["trace_id"]) == 32
    assert trace_fields(trace.INVALID_SPAN) == {}
    record = logging.getLogger("tests").makeRecord("tests", logging.INFO, __file__, 1, "hi", (), None)
    with trace.use_span(span, end_on_exit=True):
        assert json.loads(JsonFormatter().format(record)).items() >= fields.items()
    assert "trace_id" not in json.loads(JsonFormatter().format(record))
