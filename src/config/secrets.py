"""The secrets each process needs, and the rule that none of them runs on a development value.

Nothing in the source is a default secret: a process started without its secrets, or with a
value that this repository ever shipped (as a default, in a test or a benchmark), stops at once
with one line naming the variable. `make run` generates random development secrets once per
DATA_DIR and hands them to the API and the worker (`DEVELOPMENT_SECRETS_FILE`); the command-line
conveniences (`appointments token`, `replay`, `reproject`) read them from there when the
environment does not set them.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path

from config.settings import LOOPBACK_HOSTS, Settings, SettingsError

# What `make run` generated for its DATA_DIR: JSON, one entry per variable below.
DEVELOPMENT_SECRETS_FILE = "secrets.json"
SECRET_VARIABLES = (
    "JWT_SECRET",
    "PAYLOAD_KEYS",
    "PAYLOAD_ACTIVE_KEY",
    "SERVICE_SECRET",
    "CODEC_DEVELOPMENT_KEY",
)

# HS256 and HMAC-SHA256 keys shorter than the hash (RFC 7518 §3.2) are refused.
MIN_SECRET_LENGTH = 32

# The payload key that development stacks and stored test histories used before development
# secrets were generated: still accepted to *decrypt* (their histories stay readable), never to
# encrypt.
LEGACY_DEVELOPMENT_PAYLOAD_KEY = "ZGV2LXBheWxvYWQta2V5LWNoYW5nZS1tZS0wMTIzNDU="
# Every secret value this repository has shipped: known to anyone who read it.
KNOWN_DEVELOPMENT_VALUES = frozenset(
    {
        "dev-secret-change-me-0123456789abcdef",
        "test-secret-0123456789-0123456789-abcdef",
        "crash-recovery-secret-0123456789-abcdef",
        "cli-test-secret-0123456789-0123456789-abcdef",
        "bench-secret-with-at-least-32-characters",
        LEGACY_DEVELOPMENT_PAYLOAD_KEY,
    }
)


class Process(StrEnum):
    API = "api"
    WORKER = "worker"


def require(value: str | None, name: str) -> str:
    """`value` of the variable `name`, which must be set."""
    if value is None:
        raise SettingsError(f"{name} is not set: production must set its own secret (docs/security.md)")
    return value


def _check_secret(name: str, value: str | None) -> None:
    value = require(value, name)
    if value in KNOWN_DEVELOPMENT_VALUES:
        raise SettingsError(
            f"{name} is a development value published in the source: set a secret of your own"
        )
    if len(value) < MIN_SECRET_LENGTH:
        raise SettingsError(f"{name} must be at least {MIN_SECRET_LENGTH} characters long")


def _active_payload_key(settings: Settings) -> str:
    """The base64 key that encrypts new payloads, as PAYLOAD_KEYS lists it."""
    if settings.payload_keys is None:
        raise SettingsError("PAYLOAD_KEYS is not set: production must set its own keys (docs/deploy.md)")
    for item in settings.payload_keys.split(","):
        key_id, _, encoded = item.strip().partition(":")
        if key_id == settings.payload_active_key:
            return encoded.strip()
    raise SettingsError(f"PAYLOAD_ACTIVE_KEY {settings.payload_active_key!r} is not one of PAYLOAD_KEYS")


def check_secrets(settings: Settings, process: Process) -> None:
    """Raise SettingsError, naming the variable, unless `process` has every secret it needs."""
    if process is Process.API and (settings.jwt_secret is not None or settings.jwks_source == (None, None)):
        # HS256 needs a strong secret; an identity provider's key set (JWKS) needs none.
        if settings.jwt_secret is None:
            raise SettingsError(
                "JWT_SECRET is not set, and no identity provider either (JWT_JWKS_URL, or an https "
                "JWT_ISSUER): the API could verify no token (docs/security.md)"
            )
        _check_secret("JWT_SECRET", settings.jwt_secret)
    active = _active_payload_key(settings)
    if active in KNOWN_DEVELOPMENT_VALUES:
        raise SettingsError(
            "PAYLOAD_ACTIVE_KEY names a development key published in the source: "
            "add a key of your own to PAYLOAD_KEYS and make it the active one"
        )
    try:
        decoded = base64.b64decode(active, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(set(decoded)) <= 1:
        raise SettingsError("PAYLOAD_KEYS: the active key must be random bytes, base64-encoded")
    _check_secret("SERVICE_SECRET", settings.service_secret)
    if process is Process.API and settings.codec_development_key is not None:
        if settings.http_host not in LOOPBACK_HOSTS:
            raise SettingsError(
                "CODEC_DEVELOPMENT_KEY lets a local Temporal UI decode without a token: it is for the "
                "embedded development stack on loopback only, and HTTP_HOST is not loopback"
            )
        _check_secret("CODEC_DEVELOPMENT_KEY", settings.codec_development_key)


def development_secrets(data_dir: Path) -> dict[str, str]:
    """The secrets `make run` generated for `data_dir`; empty when it never ran there."""
    path = data_dir / DEVELOPMENT_SECRETS_FILE
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(stored, Mapping):
        return {}
    return {name: str(stored[name]) for name in SECRET_VARIABLES if isinstance(stored.get(name), str)}


def over_development_secrets(stored: Mapping[str, str], env: Mapping[str, str]) -> dict[str, str]:
    """The development secrets `stored`, each replaced by the environment's value when it has one."""
    chosen = {name: env.get(name) or value for name, value in stored.items()}
    if env.get("PAYLOAD_KEYS") and not env.get("PAYLOAD_ACTIVE_KEY"):
        # Keys of the environment: their own first key encrypts, as without the stack.
        chosen.pop("PAYLOAD_ACTIVE_KEY", None)
    return chosen
