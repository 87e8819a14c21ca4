"""The API's server spans, with tracing on (config.tracing): one per request, named by its route.

A plain ASGI middleware, outermost: it continues the caller's trace when the request carries a
W3C `traceparent`, opens a server span named by the method, and once Litestar has routed the
request names it by the route template (`POST /api/appointments`,
`GET /api/appointments/{appointment_id:str}`), never by the raw path, so that span names stay as
few as the routes. The Temporal client's calls made while handling the request are children of
this span (temporal_access.tracing), so a request and the workflow work it causes are one trace.

Litestar's OpenTelemetry plugin (the OpenTelemetry ASGI instrumentation) does the same and more:
a dozen attributes per span, set twice, and metrics instruments; with it, tracing halved the read
path's throughput (docs/BENCHMARKS.md, "Tracing on and off").
"""

from __future__ import annotations

from collections.abc import Mapping

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry import propagate
from opentelemetry.semconv.attributes.http_attributes import (
    HTTP_REQUEST_METHOD,
    HTTP_RESPONSE_STATUS_CODE,
    HTTP_ROUTE,
)
from opentelemetry.trace import SpanKind, Status, StatusCode

from config.tracing import tracer


class ServerSpans:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # The headers the propagators read (`traceparent`, `tracestate`, `baggage`), as ASGI has them.
        self._fields = frozenset(field.encode("latin-1") for field in propagate.get_global_textmap().fields)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        carrier: Mapping[str, str] = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in self._fields
        }
        with tracer.start_as_current_span(
            method,
            context=propagate.extract(carrier) if carrier else None,
            kind=SpanKind.SERVER,
            attributes={HTTP_REQUEST_METHOD: method},
        ) as span:

            async def traced_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = message["status"]
                    span.set_attribute(HTTP_RESPONSE_STATUS_CODE, status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                    # Set by Litestar's router; a request that matched no route keeps the method alone.
                    if template := scope.get("path_template"):
                        span.update_name(f"{method} {template}")
                        span.set_attribute(HTTP_ROUTE, template)
                await send(message)

            await self.app(scope, receive, traced_send)
