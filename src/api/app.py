"""The one place where the API is wired: settings, connections, routes, errors, OpenAPI."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from sqlalchemy.ext.asyncio import AsyncEngine

from api.applications.routes import ApplicationSettingsController
from api.appointments.routes import AppointmentController
from api.auth.middleware import JWTAuthenticationMiddleware
from api.auth.tokens import verifier_for
from api.calendars.routes import CalendarController
from api.codec.cors import CodecCors
from api.codec.routes import CodecController, development_codec
from api.customer_scheduling.routes import CustomerSchedulingController
from api.docs_assets import docs_assets, docs_render_plugins
from api.errors import database_unavailable, exception_handlers
from api.health import health
from api.idempotency import Idempotency
from api.metrics import HttpMetrics
from api.notifications.routes import NotificationController
from api.openapi_document import camel_case_operation_id, documented, finish_document
from api.participants.routes import ParticipantController
from api.queries.routes import AppointmentQueryController
from api.rate_limiting import RateLimits, checked_overrides
from api.request_guards import JsonRequest, ParameterGuard
from api.tracing import ServerSpans
from api.webhooks.routes import WebhookController
from api.workflow_gateway import AppointmentWorkflows
from config import Settings, load_settings
from config.secrets import Process, check_secrets, require
from domain.keys import Purpose, ServiceKeys
from domain.model import WorkflowPolicy
from domain.otp import CodeHasher
from mail.sender import SmtpSender
from storage.applications import ApplicationStore
from storage.appointments import AppointmentStore
from storage.database import create_engine, create_read_connections
from storage.idempotency import IdempotencyStore
from storage.otps import OtpStore
from storage.queries import AppointmentQueries
from storage.rate_limits import RateLimiter
from storage.webhooks import WebhookStore
from temporal_access.client import codec_for
from temporal_access.client import connect as connect_temporal

log = logging.getLogger("api")

MAX_BODY_BYTES = 256 * 1024
# How often the API prunes spent rate-limit counters, forgotten Idempotency-Keys and the bodies of
# webhook events no delivery can still need.
HOUSEKEEPING_INTERVAL = 300.0
# What handlers may ask for by name, each an entry of the app's state.
DEPENDENCIES = (
    "engine",
    "temporal",
    "store",
    "workflows",
    "queries",
    "otps",
    "hasher",
    "mailer",
    "applications",
    "webhooks",
    "config",
    "codec",
    "keys",
    "rate_limits",
    "idempotency",
)


def _from_state(state: State, name: str) -> Provide:
    # Reads the app's state object directly: a provider with a `state` parameter would have it
    # resolved, validated and wrapped anew on every request.
    def provide() -> object:
        return state[name]

    return Provide(provide, sync_to_thread=False)


class Prunable(Protocol):
    async def prune(self) -> int: ...


async def _housekeeping(stores: list[Prunable]) -> None:
    """Prune, every few minutes, what no request will read again; every replica may do it."""
    while True:
        await asyncio.sleep(HOUSEKEEPING_INTERVAL)
        try:
            for store in stores:
                await store.prune()
        except Exception as error:
            if not database_unavailable(error):
                log.exception("housekeeping failed")
            else:
                log.warning("housekeeping skipped: the database is unavailable")


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or load_settings()
    check_secrets(settings, Process.API)
    keys = ServiceKeys(require(settings.service_secret, "SERVICE_SECRET"))
    rate_limit_overrides = checked_overrides(settings.rate_limits)
    metrics = HttpMetrics()

    @asynccontextmanager
    async def connections(app: Litestar) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        reads = create_read_connections(settings.database_url)
        # Lazy: the API comes up (and /health says why it is not ready) even while Temporal is down.
        temporal = await connect_temporal(settings, lazy=True)
        store = AppointmentStore(engine, reads=reads)
        app.state.engine = engine
        app.state.temporal = temporal
        app.state.store = store
        app.state.queries = AppointmentQueries(engine)
        app.state.otps = OtpStore(engine)
        app.state.applications = ApplicationStore(engine)
        app.state.webhooks = WebhookStore(engine)
        app.state.workflows = AppointmentWorkflows(
            temporal,
            task_queue=settings.task_queue,
            policy=WorkflowPolicy(end_grace=settings.end_grace),
            store=store,
            applications=app.state.applications,
        )
        limiter = RateLimiter(engine)
        app.state.rate_limits = RateLimits(limiter, keys, rate_limit_overrides)
        idempotency_keys = IdempotencyStore(engine)
        app.state.idempotency = Idempotency(keys, idempotency_keys)
        housekeeping = asyncio.create_task(
            _housekeeping([limiter, idempotency_keys, app.state.otps, app.state.webhooks])
        )
        stop_metrics = (
            metrics.listen(settings.metrics_host, settings.api_metrics_port)
            if settings.api_metrics_port
            else None
        )
        try:
            yield
        finally:
            if stop_metrics is not None:
                await asyncio.to_thread(stop_metrics)
            housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await housekeeping
            await verifier.close()
            await reads.close()
            await engine.dispose()

    verifier = verifier_for(settings)
    cors = CodecCors(settings.codec_cors_origins)
    # The development stack's Temporal UI, without a token (check_secrets keeps it on loopback).
    development = (
        [development_codec(settings.codec_development_key)] if settings.codec_development_key else []
    )
    state = State(
        {
            "hasher": CodeHasher(keys.key(Purpose.ONE_TIME_CODE)),
            "mailer": SmtpSender.from_settings(settings),
            "config": settings,
            "codec": codec_for(settings),
            "keys": keys,
        }
    )
    app = Litestar(
        # Each controller with the error statuses its handlers answer (besides 400, 413 and 415).
        route_handlers=[
            documented(CodecController, 401, 403, 503),
            documented(AppointmentController, 401, 403, 404, 409, 422, 503),
            documented(AppointmentQueryController, 401, 403, 503),
            documented(ParticipantController, 401, 403, 404, 409, 422, 503),
            documented(CustomerSchedulingController, 401, 403, 404, 409, 429, 503),
            documented(ApplicationSettingsController, 401, 403, 404, 503),
            documented(NotificationController, 401, 403, 404, 429, 503),
            documented(CalendarController, 404, 503),
            documented(WebhookController, 401, 403, 404, 409, 422, 503),
            health,
            docs_assets(),
            *development,
        ],
        lifespan=[connections],
        state=state,
        dependencies={name: _from_state(state, name) for name in DEPENDENCIES},
        middleware=[
            # With tracing on, a server span per request (src/api/tracing.py).
            *([ServerSpans] if settings.otlp_protocol else []),
            # Temporal UI calls the codec endpoint from the operator's browser.
            cors.middleware,
            DefineMiddleware(JWTAuthenticationMiddleware, verifier=verifier, exclude_prefix="/schema"),
            ParameterGuard,
        ],
        # JSON bodies are checked (media type, UTF-8, duplicate keys, depth) before they are decoded.
        request_class=JsonRequest,
        # Per-request metrics (served on API_METRICS_PORT) and logs (src/api/metrics.py).
        plugins=[metrics],
        before_send=[cors.before_send],
        # Logging is configured by the process (config/logs.py), not by Litestar.
        logging_config=None,
        exception_handlers=exception_handlers,
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=OpenAPIConfig(
            title="Appointments API",
            version="1.0.0",
            description="Schedule video calls between contact-center agents and customers.",
            path="/schema",
            render_plugins=docs_render_plugins(),
            components=Components(
                security_schemes={
                    "jwtBearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
                    "basicOtp": SecurityScheme(
                        type="http", scheme="basic", description="email:one-time password from /basic/otp"
                    ),
                }
            ),
            security=[{"jwtBearerToken": []}],
            operation_id_creator=camel_case_operation_id,
        ),
    )
    finish_document(app)
    return app


def engine_of(app: Litestar) -> AsyncEngine:
    return app.state.engine
