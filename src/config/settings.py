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

# A fixed secret makes development tokens survive restarts; `make run` prints it so that
# nobody mistakes it for a production secret.
DEV_JWT_SECRET = "dev-secret-change-me-0123456789abcdef"


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if not 0 <= value <= 65535:
        raise SettingsError(f"{name} must be between 0 and 65535, got {value}")
    return value


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def _flag(env: Mapping[str, str], name: str) -> bool:
    """A yes/no setting, off unless set; an unrecognised value is an error, not a silent no."""
    raw = (env.get(name) or "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SettingsError(f"{name} must be true or false, got {env.get(name)!r}")


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def to_sqlalchemy_url(url: str) -> str:
    """Accept the usual `postgresql://` form and pin the asyncpg driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise SettingsError(f"DATABASE_URL must be a postgresql:// URL, got {url.split('://', maxsplit=1)[0]}://")


@dataclass(frozen=True, slots=True)
class Settings:
    http_port: int
    data_dir: Path
    jwt_secret: str
    jwt_audience: str | None
    jwt_issuer: str | None
    temporal_port: int
    temporal_ui_port: int
    smtp_port: int
    # Set when an existing server is to be used instead of the embedded one.
    database_url_override: str | None
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
    # Webhook URLs resolving to private, link-local or loopback addresses are refused unless
    # these allow them (SSRF); `make run` allows loopback so a local receiver works.
    webhooks_allow_private: bool
    webhooks_allow_loopback: bool

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        http_port = _int(env, "HTTP_PORT", 8000)
        return cls(
            http_port=http_port,
            data_dir=Path(env.get("DATA_DIR") or ".data").resolve(),
            jwt_secret=env.get("JWT_SECRET") or DEV_JWT_SECRET,
            jwt_audience=_optional(env, "JWT_AUDIENCE"),
            jwt_issuer=_optional(env, "JWT_ISSUER"),
            temporal_port=_int(env, "TEMPORAL_PORT", 7233),
            temporal_ui_port=_int(env, "TEMPORAL_UI_PORT", 8233),
            smtp_port=_int(env, "SMTP_PORT", 1025),
            database_url_override=_optional(env, "DATABASE_URL"),
            temporal_address_override=_optional(env, "TEMPORAL_ADDRESS"),
            smtp_host_override=_optional(env, "SMTP_HOST"),
            smtp_username=_optional(env, "SMTP_USERNAME"),
            smtp_password=_optional(env, "SMTP_PASSWORD"),
            smtp_starttls=(env.get("SMTP_STARTTLS") or "false").lower() in ("1", "true", "yes"),
            mail_from=env.get("MAIL_FROM") or "Appointments <appointments@localhost>",
            temporal_namespace=env.get("TEMPORAL_NAMESPACE") or "default",
            task_queue=env.get("TEMPORAL_TASK_QUEUE") or "appointments",
            room_base_url=(env.get("ROOM_BASE_URL") or f"http://localhost:{http_port}/rooms").rstrip("/"),
            public_base_url=(env.get("PUBLIC_BASE_URL") or f"http://localhost:{http_port}").rstrip("/"),
            end_grace=timedelta(minutes=_int(env, "END_GRACE_MINUTES", 60)),
            webhooks_allow_private=_flag(env, "WEBHOOKS_ALLOW_PRIVATE_NETWORKS"),
            webhooks_allow_loopback=_flag(env, "WEBHOOKS_ALLOW_LOOPBACK"),
        )

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
