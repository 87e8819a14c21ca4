"""The API's server spans, with tracing on (config.tracing): one per request, named by its route.

Litestar's OpenTelemetry plugin opens the span before routing, named by the method alone; once
routed, the span takes the route template (`POST /api/appointments`,
`GET /api/appointments/{appointment_id:str}`), never the raw path, so span names stay as few as
the routes. The plugin's extra spans around each ASGI receive and send are left out: they would
only repeat the server span. The Temporal client's calls made while handling the request are
children of this span (temporal_access.tracing), so a request and the workflow work it causes are
one trace.
"""

from __future__ import annotations

from typing import Any

from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from litestar.types import Message, Scope
from opentelemetry import trace
from opentelemetry.semconv.attributes.http_attributes import HTTP_ROUTE


def _method_only(scope: Scope) -> tuple[str, dict[str, Any]]:
    return str(scope.get("method") or scope["type"]), {}


async def _name_by_route(message: Message, scope: Scope) -> None:
    # Litestar sets `path_template` when it routes; unmatched requests keep the method alone.
    if message["type"] == "http.response.start" and (template := scope.get("path_template")):
        span = trace.get_current_span()
        span.update_name(f"{scope['method']} {template}")
        span.set_attribute(HTTP_ROUTE, template)


def server_spans() -> list[InitPluginProtocol]:
    """The plugins that give every request its server span."""
    config = OpenTelemetryConfig(scope_span_details_extractor=_method_only, exclude_spans=["receive", "send"])
    return [OpenTelemetryPlugin(config), _RouteNames()]


class _RouteNames(InitPluginProtocol):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.before_send.append(_name_by_route)
        return app_config
