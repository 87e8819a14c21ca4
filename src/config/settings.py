"""Every setting of the service, with the environment variable that sets it.

The names and defaults are contracts for operators (see README): keep them exactly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path

from temporalio.envconfig import ClientConfigProfile, ClientConfigProfileDict

# Listeners default to this machine only; the image and compose open them (HTTP_HOST, METRICS_HOST).
LOOPBACK = "127.0.0.1"
LOOPBACK_HOSTS = frozenset({LOOPBACK, "::1", "localhost"})


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


def _int(env: Mapping[str, str], name: str, default: int, maximum: int = 65535, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise SettingsError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def _flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    """A yes/no setting; an unrecognised value is an error, not a silent no."""
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SettingsError(f"{name} must be true or false, got {env.get(name)!r}")


def _rate_limits(env: Mapping[str, str]) -> dict[str, int]:
    """RATE_LIMITS: `name=requests,...`, e.g. `public-read=600,otp-client=20`."""
    limits: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in (env.get("RATE_LIMITS") or "").split(","))):
        name, sep, value = item.partition("=")
        try:
            requests = int(value)
        except ValueError:
            requests = 0
        if not sep or not name.strip() or requests < 1:
            raise SettingsError(f"RATE_LIMITS: {item!r} is not name=requests with requests of at least 1")
        limits[name.strip()] = requests
    return limits


# The service's first names for the TLS files, kept beside the names Temporal's CLI and SDKs read.
_TEMPORAL_TLS_ALIASES = {
    "TEMPORAL_TLS_CERT": "TEMPORAL_TLS_CLIENT_CERT_PATH",
    "TEMPORAL_TLS_KEY": "TEMPORAL_TLS_CLIENT_KEY_PATH",
    "TEMPORAL_TLS_CA": "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
}


def _temporal_profile(env: Mapping[str, str]) -> ClientConfigProfileDict:
    """The Temporal client's connection, as Temporal's CLI and SDKs read it.

    A profile (TEMPORAL_PROFILE, default `default`) of the TOML file TEMPORAL_CONFIG_FILE (default
    `~/.config/temporalio/temporal.toml`, if it exists), overridden by the TEMPORAL_* variables.
    TEMPORAL_TLS_CERT/_KEY/_CA name the same files as the CLI's TEMPORAL_TLS_CLIENT_CERT_PATH,
    TEMPORAL_TLS_CLIENT_KEY_PATH and TEMPORAL_TLS_SERVER_CA_CERT_PATH, and TEMPORAL_TLS takes every
    spelling of yes and no the other settings take. Kept as the profile's plain dict: the settings
    are injected into the API's handlers, whose signatures only take types msgspec can describe.
    """
    config_file = _optional(env, "TEMPORAL_CONFIG_FILE")
    if config_file is not None and not Path(config_file).is_file():
        raise SettingsError(f"TEMPORAL_CONFIG_FILE {config_file!r} is not a file")
    standard = dict(env)
    for alias, name in _TEMPORAL_TLS_ALIASES.items():
        value = _optional(env, alias)
        if value is None:
            continue
        if _optional(env, name) not in (None, value):
            raise SettingsError(f"{alias} and {name} name different files; set one of them")
        standard[name] = value
    for name in _TEMPORAL_TLS_ALIASES.values():
        # Read when the client connects; a wrong path is a startup error here, not a failed connection.
        if (path := _optional(standard, name)) is not None and not Path(path).is_file():
            raise SettingsError(f"{name} {path!r} is not a file")
    if _optional(env, "TEMPORAL_TLS") is not None:
        standard["TEMPORAL_TLS"] = "true" if _flag(env, "TEMPORAL_TLS") else "false"
    try:
        return ClientConfigProfile.load(override_env_vars=standard).to_dict()
    except Exception as error:  # the SDK's loader raises its own error types for files and profiles
        raise SettingsError(
            f"Temporal client configuration (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE): {error}"
        ) from None


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(env: Mapping[str, str]) -> str:
    raw = env.get("LOG_LEVEL") or "INFO"
    level = raw.strip().upper()
    level = "WARNING" if level == "WARN" else level
    if level not in _LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}, got {raw!r}")
    return level


def _log_format(env: Mapping[str, str]) -> str:
    raw = env.get("LOG_FORMAT") or "json"
    value = raw.strip().lower()
    if value not in ("json", "text"):
        raise SettingsError(f"LOG_FORMAT must be json or text, got {raw!r}")
    return value


OTLP_PROTOCOLS = ("http/protobuf", "grpc")


def _otlp_protocol(env: Mapping[str, str]) -> str | None:
    """How traces are exported, None when they are not: tracing is on when an OTLP endpoint is set
    (OTEL_EXPORTER_OTLP_ENDPOINT or its traces-only variant), unless OTEL_SDK_DISABLED is true or
    OTEL_TRACES_EXPORTER is `none`. The protocol follows the OpenTelemetry specification (the
    traces-only variable first, default `http/protobuf`); one the service cannot speak is an
    error, not a silent fallback."""
    endpoint = _optional(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or _optional(
        env, "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    exporter = (env.get("OTEL_TRACES_EXPORTER") or "").strip().lower()
    if not endpoint or _flag(env, "OTEL_SDK_DISABLED") or exporter == "none":
        return None
    name = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
    if not _optional(env, name):
        name = "OTEL_EXPORTER_OTLP_PROTOCOL"
    protocol = (_optional(env, name) or OTLP_PROTOCOLS[0]).lower()
    if protocol not in OTLP_PROTOCOLS:
        raise SettingsError(f"{name} must be one of {', '.join(OTLP_PROTOCOLS)}, got {env.get(name)!r}")
    return protocol


def to_sqlalchemy_url(url: str) -> str:
    """Accept the usual `postgresql://` form and pin the asyncpg driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise SettingsError(f"DATABASE_URL must be a postgresql:// URL, got {url.split('://', maxsplit=1)[0]}://")


@dataclass(frozen=True, slots=True)
class Settings:
    # Where the API listens; the image listens on every interface (HTTP_HOST=0.0.0.0).
    http_host: str
    http_port: int
    data_dir: Path
    # Secrets have no default: the API and the worker refuse to start without them (config.secrets).
    # `make run` generates development values for its DATA_DIR.
    jwt_secret: str | None
    jwt_audience: str | None
    jwt_issuer: str | None
    # The identity provider's key set (RS/ES tokens); without it, discovered from an https issuer.
    jwt_jwks_url: str | None
    # Where tokens carry the roles (a dotted path) and the application.
    jwt_roles_claim: str
    jwt_application_claim: str
    temporal_port: int
    temporal_ui_port: int
    smtp_port: int
    # Set when an existing server is to be used instead of the embedded one.
    database_url_override: str | None
    # The address of the Temporal client's profile (TEMPORAL_ADDRESS or the profile file).
    temporal_address_override: str | None
    smtp_host_override: str | None
    smtp_username: str | None
    smtp_password: str | None
    smtp_starttls: bool
    mail_from: str
    temporal_namespace: str
    task_queue: str
    room_base_url: str
    # Where clients reach the API: the base of calendar links in emails.
    public_base_url: str
    # How long after its scheduled end an appointment's room stays open before the
    # workflow closes the interaction.
    end_grace: timedelta
    # Encryption of Temporal payloads: `kid:base64key,...` and the id of the key that encrypts.
    payload_keys: str | None
    payload_active_key: str | None
    # Keys the service's own hashes and links: one-time codes, ids derived from Idempotency-Keys,
    # the calendar links mailed to participants (domain.keys).
    service_secret: str | None
    # The rest of the Temporal client's profile: TLS, API key and gRPC metadata for Temporal Cloud
    # or any protected frontend (its address and namespace are the two fields above).
    temporal_profile: ClientConfigProfileDict
    # Origins allowed to call the codec endpoint from a browser (Temporal UI).
    codec_cors_origins: tuple[str, ...]
    # Only in the embedded development stack, on loopback: the key of the codec route its Temporal
    # UI calls without a token (api.codec.routes).
    codec_development_key: str | None
    # Webhook URLs resolving to private, link-local or loopback addresses are refused unless
    # these allow them (SSRF); `make run` allows loopback so a local receiver works.
    webhooks_allow_private: bool
    webhooks_allow_loopback: bool
    # Operators' overrides of the rate limits of domain.rate_limits: requests per window, by name.
    rate_limits: Mapping[str, int]
    # Observability: log level and format (`json`: one object per line, or `text`), and the
    # Prometheus listeners of the worker (Temporal SDK metrics) and of the API (HTTP metrics), on
    # an interface of their own, apart from the API's public one (None: not served).
    log_level: str
    log_format: str
    metrics_host: str
    worker_metrics_port: int | None
    api_metrics_port: int | None
    # Workflows a worker keeps in memory between their tasks: one that was dropped is replayed
    # from its history on its next timer or change (CPU and a history fetch instead of memory).
    worker_max_cached_workflows: int
    # Workflow tasks a worker runs at once. Each runs in a thread that competes for the GIL with
    # the event loop running the activities: a few keep both moving (docs/BENCHMARKS.md).
    worker_max_concurrent_workflow_tasks: int
    # Run workflows in the SDK's sandbox, which re-imports the workflow module for every workflow
    # and checks each call for non-determinism. Off by default: the workflow tests run in the
    # sandbox and every stored history replays both ways, which catches what the sandbox would
    # before a change ships, and the sandbox cost a new appointment's workflow task 60 % more time
    # and each cached workflow 75 % more memory (docs/decisions.md, docs/BENCHMARKS.md).
    worker_workflow_sandbox: bool
    # Traces over OTLP (`http/protobuf` or `grpc`), None when off. The OpenTelemetry SDK reads the
    # rest of its standard variables itself (endpoint, headers, sampler, resource, batching).
    otlp_protocol: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        http_port = _int(env, "HTTP_PORT", 8000)
        temporal_ui = _int(env, "TEMPORAL_UI_PORT", 8233)
        payload_keys = _optional(env, "PAYLOAD_KEYS")
        temporal = _temporal_profile(env)
        return cls(
            http_host=_optional(env, "HTTP_HOST") or LOOPBACK,
            http_port=http_port,
            data_dir=Path(env.get("DATA_DIR") or ".data").resolve(),
            jwt_secret=_optional(env, "JWT_SECRET"),
            jwt_audience=_optional(env, "JWT_AUDIENCE"),
            jwt_issuer=_optional(env, "JWT_ISSUER"),
            jwt_jwks_url=_optional(env, "JWT_JWKS_URL"),
            jwt_roles_claim=_optional(env, "JWT_ROLES_CLAIM") or "roles",
            jwt_application_claim=_optional(env, "JWT_APPLICATION_CLAIM") or "applicationId",
            temporal_port=_int(env, "TEMPORAL_PORT", 7233),
            temporal_ui_port=_int(env, "TEMPORAL_UI_PORT", 8233),
            smtp_port=_int(env, "SMTP_PORT", 1025),
            database_url_override=_optional(env, "DATABASE_URL"),
            temporal_address_override=temporal.get("address") or None,
            smtp_host_override=_optional(env, "SMTP_HOST"),
            smtp_username=_optional(env, "SMTP_USERNAME"),
            smtp_password=_optional(env, "SMTP_PASSWORD"),
            smtp_starttls=_flag(env, "SMTP_STARTTLS"),
            mail_from=env.get("MAIL_FROM") or "Appointments <appointments@localhost>",
            temporal_namespace=temporal.get("namespace") or "default",
            task_queue=env.get("TEMPORAL_TASK_QUEUE") or "appointments",
            room_base_url=(env.get("ROOM_BASE_URL") or f"http://localhost:{http_port}/rooms").rstrip("/"),
            public_base_url=(env.get("PUBLIC_BASE_URL") or f"http://localhost:{http_port}").rstrip("/"),
            end_grace=timedelta(minutes=_int(env, "END_GRACE_MINUTES", 60)),
            payload_keys=payload_keys,
            payload_active_key=_optional(env, "PAYLOAD_ACTIVE_KEY")
            or (payload_keys.split(",")[0].split(":")[0].strip() or None if payload_keys else None),
            service_secret=_optional(env, "SERVICE_SECRET"),
            temporal_profile=temporal,
            codec_cors_origins=tuple(
                o.strip()
                for o in (
                    env.get("CODEC_CORS_ORIGINS")
                    or f"http://localhost:{temporal_ui},http://127.0.0.1:{temporal_ui}"
                ).split(",")
                if o.strip()
            ),
            codec_development_key=_optional(env, "CODEC_DEVELOPMENT_KEY"),
            webhooks_allow_private=_flag(env, "WEBHOOKS_ALLOW_PRIVATE_NETWORKS"),
            webhooks_allow_loopback=_flag(env, "WEBHOOKS_ALLOW_LOOPBACK"),
            rate_limits=_rate_limits(env),
            log_level=_log_level(env),
            log_format=_log_format(env),
            metrics_host=_optional(env, "METRICS_HOST") or LOOPBACK,
            worker_metrics_port=_int(env, "WORKER_METRICS_PORT", 9464) or None,
            api_metrics_port=_int(env, "API_METRICS_PORT", 0) or None,
            worker_max_cached_workflows=_int(env, "WORKER_MAX_CACHED_WORKFLOWS", 1000, maximum=1_000_000),
            worker_max_concurrent_workflow_tasks=_int(
                env, "WORKER_MAX_CONCURRENT_WORKFLOW_TASKS", 32, maximum=10_000, minimum=2
            ),
            worker_workflow_sandbox=_flag(env, "WORKER_WORKFLOW_SANDBOX"),
            otlp_protocol=_otlp_protocol(env),
        )

    @property
    def jwks_source(self) -> tuple[str | None, str | None]:
        """(JWKS URL, issuer to discover it from): the key set of the identity provider, if any.

        Discovery only from an issuer that is a URL: an issuer such as `cli-test` only names who
        signed HS256 development tokens.
        """
        if self.jwt_jwks_url:
            return self.jwt_jwks_url, None
        if self.jwt_issuer and self.jwt_issuer.startswith(("https://", "http://")):
            return None, self.jwt_issuer
        return None, None

    @property
    def postgres_dir(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def database_url(self) -> str:
        """SQLAlchemy URL; without DATABASE_URL, the embedded server's unix socket."""
        if self.database_url_override:
            return to_sqlalchemy_url(self.database_url_override)
        return f"postgresql+asyncpg://postgres@/postgres?host={self.postgres_dir}"

    @property
    def temporal_address(self) -> str:
        return self.temporal_address_override or f"127.0.0.1:{self.temporal_port}"

    @property
    def smtp_host(self) -> str:
        return self.smtp_host_override or "127.0.0.1"


@cache
def load_settings() -> Settings:
    return Settings.from_env()
