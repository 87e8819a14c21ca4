"""Prometheus metrics and request logs of the API.

`HttpMetrics` is a Litestar plugin that measures every HTTP request; its registry is served on a
listener of its own (`listen`: METRICS_HOST:API_METRICS_PORT, `/metrics`), never on the API's
public one, so that whoever reaches the API does not also read its traffic:

- `http_requests_total{method,route,status}`: requests answered;
- `http_request_duration_seconds{method,route}`: time until the last byte of the response;
- the process collectors of `prometheus_client` (CPU, memory, open files, GC, Python version).

`route` is the route template (`/api/appointments/{appointment_id:str}`), never the raw path, so
the number of series stays bounded; requests that match no route (404, 405 from the router) count
as `route="<unmatched>"` and are not timed. Each request is also logged on `api.requests` with
`method`, `route`, `path`, `status`, `duration_ms` and, when the path names one, `appointment_id`
(`/health` at DEBUG, so that probes do not flood the log).

Each plugin instance owns its `CollectorRegistry`: several apps in one process (the tests) do not
clash over the global registry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

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
    start_http_server,
)

from domain.metric_names import HTTP_REQUEST_DURATION, HTTP_REQUESTS

log = logging.getLogger("api.requests")

UNMATCHED_ROUTE = "<unmatched>"
# Requests logged at DEBUG: health probes come every few seconds.
QUIET_ROUTES = frozenset({"/health"})
# Seconds; covers fast reads (a few ms) up to Updates that wait for the workflow (seconds).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Where the start of a request is kept between the middleware and the send hook.
_START_KEY = "_http_metrics_start"


class HttpMetrics(InitPluginProtocol):
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            HTTP_REQUESTS.name,
            HTTP_REQUESTS.help,
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            HTTP_REQUEST_DURATION.name,
            HTTP_REQUEST_DURATION.help,
            ["method", "route"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        # First in the list: outermost, so that it also times the authentication middleware.
        app_config.middleware.insert(0, _StartTimer)
        app_config.before_send.append(self._on_send)
        return app_config

    def listen(self, host: str, port: int) -> Callable[[], None]:
        """Serve the registry at `http://host:port/metrics` in a thread; returns what stops it."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        logging.getLogger("api").info("api metrics on http://%s:%s/metrics", host, port)

        def stop() -> None:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

        return stop

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
