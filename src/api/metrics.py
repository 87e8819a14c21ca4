"""Prometheus metrics and request logs of the API.

`HttpMetrics` is a Litestar plugin: it serves `GET /metrics` (no authentication, not in the
OpenAPI document) and measures every HTTP request:

- `http_requests_total{method,route,status}`: requests answered;
- `http_request_duration_seconds{method,route}`: time until the last byte of the response;
- the process collectors of `prometheus_client` (CPU, memory, open files, GC, Python version).

`route` is the route template (`/api/appointments/{appointment_id:str}`), never the raw path, so
the number of series stays bounded; requests that match no route (404, 405 from the router) count
as `route="<unmatched>"` and are not timed. Each request is also logged on `api.requests` with
`method`, `route`, `path`, `status`, `duration_ms` and, when the path names one, `appointment_id`
(`/health` and `/metrics` at DEBUG, so probes and scrapes do not flood the log).

Each plugin instance owns its `CollectorRegistry`: several apps in one process (the tests) do not
clash over the global registry.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from litestar import Request, Response, get
from litestar.config.app import AppConfig
from litestar.enums import ScopeType
from litestar.plugins import InitPluginProtocol
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.exposition import choose_encoder

log = logging.getLogger("api.requests")

METRICS_PATH = "/metrics"
UNMATCHED_ROUTE = "<unmatched>"
# Requests logged at DEBUG: health probes and metric scrapes come every few seconds.
QUIET_ROUTES = frozenset({"/health", METRICS_PATH})
# Seconds; covers fast reads (a few ms) up to Updates that wait for the workflow (seconds).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Where the start of a request is kept between the middleware and the send hook.
_START_KEY = "_http_metrics_start"


class HttpMetrics(InitPluginProtocol):
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time from routing a request to the last byte of its response, by method and route template.",
            ["method", "route"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(self._endpoint())
        # First in the list: outermost, so that it also times the authentication middleware.
        app_config.middleware.insert(0, _StartTimer)
        app_config.before_send.append(self._on_send)
        return app_config

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The registry in the format the scraper asks for (Prometheus text or OpenMetrics)."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type

    def _endpoint(self) -> Any:
        plugin = self

        @get(METRICS_PATH, exclude_from_auth=True, include_in_schema=False, sync_to_thread=False)
        def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
            body, content_type = plugin.exposition(request.headers.get("accept", ""))
            # Litestar appends the charset to text/* itself.
            return Response(body, media_type=content_type.removesuffix("; charset=utf-8"))

        return metrics

    async def _on_send(self, message: Message, scope: Scope) -> None:
        """Count a request once its response is complete (whoever produced the response)."""
        if scope["type"] != ScopeType.HTTP:
            return
        state = scope.setdefault("state", {})
        if message["type"] == "http.response.start":
            state["_http_metrics_status"] = message["status"]
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self._record(scope, state.get("_http_metrics_status", 500), state.get(_START_KEY))

    def _record(self, scope: Scope, status: int, started: float | None) -> None:
        method = scope["method"]
        # Set by the router; absent when no route matched.
        route = scope.get("path_template") or UNMATCHED_ROUTE
        counted, timed = self._series_of(method, route, status)
        counted.inc()
        elapsed = None if started is None else time.perf_counter() - started
        if elapsed is not None:
            timed.observe(elapsed)
        level = logging.DEBUG if route in QUIET_ROUTES else logging.INFO
        if status >= 500:
            level = logging.WARNING
        if not log.isEnabledFor(level):
            return
        fields: dict[str, Any] = {"method": method, "route": route, "path": scope["path"], "status": status}
        duration = ""
        if elapsed is not None:
            fields["duration_ms"] = round(elapsed * 1000, 2)
            duration = f" {fields['duration_ms']} ms"
        appointment_id = scope.get("path_params", {}).get("appointment_id")
        if appointment_id:
            fields["appointment_id"] = str(appointment_id)
        log.log(level, "%s %s %s%s", method, scope["path"], status, duration, extra=fields)

    def _series_of(self, method: str, route: str, status: int) -> tuple[Counter, Histogram]:
        """The request's counter and histogram series, found once per label set.

        `labels()` checks and joins its arguments under a lock on every call, a good part of
        what recording a request costs; a route has a handful of label sets.
        """
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = (
                self.requests.labels(method=method, route=route, status=str(status)),
                self.duration.labels(method=method, route=route),
            )
        return series


class _StartTimer:
    """Notes when a routed request starts; the send hook of `HttpMetrics` does the rest.

    A plain ASGI middleware: Litestar's `ASGIMiddleware` base checks scopes, paths and options
    on every request before calling it, for a line of work."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            scope.setdefault("state", {})[_START_KEY] = time.perf_counter()
        await self.app(scope, receive, send)
