"""The one place where the API is wired: settings, connections, routes, errors, OpenAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from sqlalchemy.ext.asyncio import AsyncEngine

from api.auth.middleware import JWTAuthenticationMiddleware
from api.auth.tokens import TokenVerifier
from api.codec_cors import CodecCors
from api.controllers.applications import ApplicationSettingsController
from api.controllers.appointments import AppointmentController
from api.controllers.calendar import CalendarController
from api.controllers.codec import CodecController
from api.controllers.customer_scheduling import CustomerSchedulingController
from api.controllers.health import health
from api.controllers.notifications import NotificationController
from api.controllers.participants import ParticipantController
from api.controllers.queries import AppointmentQueryController
from api.controllers.webhooks import WebhookController
from api.errors import exception_handlers
from api.metrics import HttpMetrics
from api.openapi_responses import documented
from api.request_guards import JsonRequest, ParameterGuard
from api.workflow_gateway import AppointmentWorkflows
from config import Settings, load_settings
from domain.model import WorkflowPolicy
from domain.otp import CodeHasher
from mail.sender import SmtpSender
from storage.applications import ApplicationStore
from storage.appointments import AppointmentStore
from storage.database import create_engine, create_read_pool
from storage.otps import OtpStore
from storage.queries import AppointmentQueries
from storage.webhooks import WebhookStore
from temporal_access.client import codec_for
from temporal_access.client import connect as connect_temporal

MAX_BODY_BYTES = 256 * 1024
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
)


def _from_state(state: State, name: str) -> Provide:
    # Reads the app's state object directly: a provider with a `state` parameter would have it
    # resolved, validated and wrapped anew on every request.
    def provide() -> object:
        return state[name]

    return Provide(provide, sync_to_thread=False)


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or load_settings()

    @asynccontextmanager
    async def connections(app: Litestar) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        reads = await create_read_pool(settings.database_url)
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
        try:
            yield
        finally:
            await reads.close()
            await engine.dispose()

    verifier = TokenVerifier(settings.jwt_secret, audience=settings.jwt_audience, issuer=settings.jwt_issuer)
    state = State(
        {
            "hasher": CodeHasher(settings.jwt_secret),
            "mailer": SmtpSender.from_settings(settings),
            "config": settings,
            "codec": codec_for(settings),
        }
    )
    return Litestar(
        # Each controller with the error statuses its handlers answer (besides 400, 413 and 415).
        route_handlers=[
            documented(CodecController, 401, 403),
            documented(AppointmentController, 401, 403, 404, 409, 503),
            documented(AppointmentQueryController, 401, 403, 503),
            documented(ParticipantController, 401, 403, 404, 409, 503),
            documented(CustomerSchedulingController, 401, 403, 409, 429, 503),
            documented(ApplicationSettingsController, 401, 403, 404, 503),
            documented(NotificationController, 401, 403, 404, 503),
            documented(CalendarController, 404, 503),
            documented(WebhookController, 401, 403, 404, 409, 503),
            health,
        ],
        lifespan=[connections],
        state=state,
        dependencies={name: _from_state(state, name) for name in DEPENDENCIES},
        middleware=[
            # Temporal UI calls the codec endpoint from the operator's browser.
            DefineMiddleware(CodecCors, origins=settings.codec_cors_origins),
            DefineMiddleware(JWTAuthenticationMiddleware, verifier=verifier, exclude_prefix="/schema"),
            ParameterGuard,
        ],
        # JSON bodies are checked (media type, UTF-8, duplicate keys, depth) before they are decoded.
        request_class=JsonRequest,
        # GET /metrics and per-request metrics and logs (src/api/metrics.py).
        plugins=[HttpMetrics()],
        # Logging is configured by the process (config/logs.py), not by Litestar.
        logging_config=None,
        exception_handlers=exception_handlers,
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=OpenAPIConfig(
            title="Appointments API",
            version="1.0.0",
            description="Schedule video calls between contact-center agents and customers.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin()],
            components=Components(
                security_schemes={
                    "jwtBearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
                    "basicOtp": SecurityScheme(
                        type="http", scheme="basic", description="email:one-time password from /basic/otp"
                    ),
                }
            ),
            security=[{"jwtBearerToken": []}],
        ),
    )


def engine_of(app: Litestar) -> AsyncEngine:
    return app.state.engine
