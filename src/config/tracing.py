"""Traces of a process over OTLP: the one place that sets up OpenTelemetry for the API and the worker.

Off unless an OTLP endpoint is set (`Settings.otlp_protocol`): then no tracer provider is
installed, no exporter thread runs, and every span the code asks for is OpenTelemetry's no-op.
On, spans are batched (`BatchSpanProcessor`, a bounded queue) and exported from its own thread:
a slow or dead collector makes spans drop, never a request wait or fail. The SDK reads its other
standard variables itself: the endpoint and headers of the exporter, OTEL_TRACES_SAMPLER,
OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_*. `service.name` is the process's own (`API_SERVICE`,
`WORKER_SERVICE`) unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES name one.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from config.settings import Settings

API_SERVICE = "appointments-api"
WORKER_SERVICE = "appointments-worker"
# The service's own spans (requests, SMTP, webhooks): a proxy of the installed provider, no-op without one.
tracer = trace.get_tracer("appointments")


def service_resource(default_name: str) -> Resource:
    """The process's resource: the standard variables' attributes, `default_name` unless they name
    the service."""
    named = OTELResourceDetector().detect().attributes.get(SERVICE_NAME)
    return Resource.create({SERVICE_NAME: str(named or default_name)})


def _exporter(protocol: str) -> SpanExporter:
    # Imported for the protocol in use only: each exporter brings its transport (gRPC, requests).
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter  # noqa: PLC0415

        return OTLPSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter as HttpSpanExporter,
    )

    return HttpSpanExporter()


def start_tracing(settings: Settings, service_name: str) -> None:
    """Install the process's tracer provider when tracing is on.

    Call once, early, before the first client connects. The provider shuts down when the process
    exits (the SDK's own exit handler), exporting what is still queued.
    """
    if settings.otlp_protocol is None:
        return
    provider = TracerProvider(resource=service_resource(service_name))
    provider.add_span_processor(BatchSpanProcessor(_exporter(settings.otlp_protocol)))
    trace.set_tracer_provider(provider)
