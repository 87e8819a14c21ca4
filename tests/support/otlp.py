"""Real OTLP trace receivers for the tracing tests: what a collector would get from the service.

`OtlpHttpReceiver` answers `POST /v1/traces` (protobuf `ExportTraceServiceRequest`, as
`OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf` sends it), served by uvicorn on loopback;
`OtlpGrpcReceiver` implements the gRPC `TraceService` (`grpc`). Both decode every request with
`opentelemetry-proto` and keep its spans, flattened with their resource's `service.name`.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import (
    TraceServiceServicer,
    add_TraceServiceServicer_to_server,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

from devstack.net import free_port
from tests.support.serving import read_request, serve_asgi


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


@dataclass(frozen=True)
class ExportedSpan:
    service: str
    trace_id: str  # lowercase hex, as in `traceparent`
    span_id: str
    parent_span_id: str  # "" for a root
    name: str
    kind: int  # opentelemetry.proto.trace.v1.Span.SpanKind
    attributes: dict[str, Any]
    links: tuple[tuple[str, str], ...]  # (trace id, span id) of each link


@dataclass
class Spans:
    """Every span received, in order of arrival."""

    spans: list[ExportedSpan] = field(default_factory=list)
    requests: int = 0

    def add(self, request: ExportTraceServiceRequest) -> None:
        self.requests += 1
        for resource_spans in request.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(
                        ExportedSpan(
                            service=str(resource.get("service.name")),
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            name=span.name,
                            kind=span.kind,
                            attributes={a.key: _value(a.value) for a in span.attributes},
                            links=tuple((link.trace_id.hex(), link.span_id.hex()) for link in span.links),
                        )
                    )

    def where(self, test: Callable[[ExportedSpan], bool]) -> list[ExportedSpan]:
        return [span for span in self.spans if test(span)]

    async def wait_for(
        self,
        test: Callable[[ExportedSpan], bool],
        count: int = 1,
        timeout: float = 30,  # noqa: ASYNC109
    ) -> list[ExportedSpan]:
        async with asyncio.timeout(timeout):
            while len(found := self.where(test)) < count:  # noqa: ASYNC110 - polls what the server appends
                await asyncio.sleep(0.05)
        return found


SERVER = ProtoSpan.SpanKind.SPAN_KIND_SERVER
CLIENT = ProtoSpan.SpanKind.SPAN_KIND_CLIENT


class OtlpHttpReceiver(Spans):
    """`POST /v1/traces` with a protobuf body; `endpoint` is what OTEL_EXPORTER_OTLP_ENDPOINT takes."""

    def __init__(self) -> None:
        super().__init__()
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, headers = await read_request(scope, receive)
        if scope["method"] != "POST" or scope["path"] != "/v1/traces":
            await _answer(send, 404, b"")
            return
        if headers.get("content-type") != "application/x-protobuf":
            await _answer(send, 415, b"")
            return
        if headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        self.add(ExportTraceServiceRequest.FromString(body))
        await _answer(send, 200, ExportTraceServiceResponse().SerializeToString())

    async def start(self) -> Callable[[], Awaitable[None]]:
        """Serve; returns what stops the server."""
        server, task = await serve_asgi(self, self.port)

        async def stop() -> None:
            server.should_exit = True
            await task

        return stop


async def _answer(send: Any, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/x-protobuf"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class OtlpGrpcReceiver(Spans, TraceServiceServicer):
    """The gRPC `TraceService`; `endpoint` is what OTEL_EXPORTER_OTLP_ENDPOINT takes."""

    def __init__(self) -> None:
        super().__init__()
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"

    async def Export(
        self, request: ExportTraceServiceRequest, context: grpc.aio.ServicerContext
    ) -> ExportTraceServiceResponse:
        self.add(request)
        return ExportTraceServiceResponse()

    async def start(self) -> Callable[[], Awaitable[None]]:
        """Serve; returns what stops the server."""
        server = grpc.aio.server()
        add_TraceServiceServicer_to_server(self, server)
        server.add_insecure_port(f"127.0.0.1:{self.port}")
        await server.start()

        async def stop() -> None:
            await server.stop(grace=None)

        return stop
