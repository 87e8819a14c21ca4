"""POST to a checked webhook target, connecting only to the addresses that were checked.

The request goes to an address literal of the target (`Target.addresses`), with the URL's own
host in `Host` and, over HTTPS, as the TLS server name, so that the receiver and its certificate
are checked as usual. Connections are not kept alive: a pooled connection to one address must not
carry a request meant for another host. The receiver's body is never read, and every attempt ends
within `DEADLINE`, whatever the receiver does. What went wrong is summed up in a few fixed words
(`DeliveryFailed`), never in the network's own error texts.

With tracing on (config.tracing), each delivery is a client span `POST` (the receiver's host and
port, the status it answered) and the request carries its W3C `traceparent` (and `tracestate`),
so a receiver that traces joins the trace of the change it is told about. Tracing off, no header is
added.
"""

from __future__ import annotations

import asyncio

import httpx
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.semconv.attributes.http_attributes import (
    HTTP_REQUEST_METHOD,
    HTTP_RESPONSE_STATUS_CODE,
)
from opentelemetry.semconv.attributes.server_attributes import SERVER_ADDRESS, SERVER_PORT
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from config.tracing import tracer
from outbound.webhook_urls import Target, is_ip_literal

# The whole attempt: connecting, sending and the receiver's status line.
DEADLINE = 20.0
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# A name with many addresses is tried on a few of them, not on all.
MAX_ADDRESSES_TRIED = 3
# `traceparent` (and `tracestate`) only: baggage a caller of the API sent is not for receivers.
_TRACE_CONTEXT = TraceContextTextMapPropagator()


class DeliveryFailed(Exception):
    """No answer from the receiver; the message is a fixed summary (see the module's docstring)."""


def new_client() -> httpx.AsyncClient:
    # Redirects are not followed and proxies from the environment are ignored: either would let a
    # delivery reach an address that nobody checked.
    return httpx.AsyncClient(
        timeout=TIMEOUT,
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


def _request(
    client: httpx.AsyncClient, target: Target, address: str, body: bytes, headers: dict[str, str]
) -> httpx.Request:
    parts = target.parts
    literal = f"[{address}]" if ":" in address else address
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    extensions: dict[str, str] = {}
    if parts.scheme.lower() == "https" and not is_ip_literal(target.host):
        extensions["sni_hostname"] = target.host
    return client.build_request(
        "POST",
        f"{parts.scheme.lower()}://{literal}:{target.port}{path}",
        content=body,
        headers={**headers, "Host": parts.netloc},
        extensions=extensions,
    )


async def post(client: httpx.AsyncClient, target: Target, body: bytes, headers: dict[str, str]) -> int:
    """The receiver's status code; DeliveryFailed when there was none."""
    with tracer.start_as_current_span(
        "POST",
        kind=SpanKind.CLIENT,
        attributes={HTTP_REQUEST_METHOD: "POST", SERVER_ADDRESS: target.host, SERVER_PORT: target.port},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        headers = dict(headers)
        # Writes nothing without a valid span, that is with tracing off.
        _TRACE_CONTEXT.inject(headers)
        try:
            status = await _post(client, target, body, headers)
        except DeliveryFailed as failed:
            span.set_attribute(ERROR_TYPE, str(failed))
            span.set_status(Status(StatusCode.ERROR))
            raise
        span.set_attribute(HTTP_RESPONSE_STATUS_CODE, status)
        if status >= 400:
            span.set_status(Status(StatusCode.ERROR))
        return status


async def _post(client: httpx.AsyncClient, target: Target, body: bytes, headers: dict[str, str]) -> int:
    for address in target.addresses[:MAX_ADDRESSES_TRIED]:
        request = _request(client, target, str(address), body, headers)
        try:
            async with asyncio.timeout(DEADLINE):
                response = await client.send(request, stream=True)
                await response.aclose()
        except (httpx.ConnectError, httpx.ConnectTimeout):
            continue  # the next address, if the name has one
        except (httpx.TimeoutException, TimeoutError):
            raise DeliveryFailed("timed out") from None
        except httpx.HTTPError:
            raise DeliveryFailed("the answer was not HTTP") from None
        return response.status_code
    raise DeliveryFailed("could not connect or agree on TLS")
