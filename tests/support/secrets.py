"""The secrets of a test session: random, as production's must be (config.secrets).

Made once per process, so that every app, worker and client of the session agrees on them;
subprocesses get them through their environment.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping

from config import Settings
from config.secrets import LEGACY_DEVELOPMENT_PAYLOAD_KEY
from domain.keys import ServiceKeys

# The key the stored histories (tests/replay/histories) were encrypted with; new recordings use it
# too (tests/replay/record_histories.py), so that they replay in any later session.
RECORDED_PAYLOAD_KEYS = f"dev:{LEGACY_DEVELOPMENT_PAYLOAD_KEY}"

JWT_SECRET = secrets.token_urlsafe(48)
TEST_SECRETS = {
    "JWT_SECRET": JWT_SECRET,
    # The session's own key encrypts; the recorded one still decrypts the stored histories.
    "PAYLOAD_KEYS": f"test:{base64.b64encode(secrets.token_bytes(32)).decode()},{RECORDED_PAYLOAD_KEYS}",
    "PAYLOAD_ACTIVE_KEY": "test",
    "SERVICE_SECRET": secrets.token_urlsafe(48),
}


def session_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Settings of `env` with the session's secrets (which `env` may override)."""
    return Settings.from_env({**TEST_SECRETS, **(env or {})})


# What the session's service derives its keys from (calendar links, resource ids, ...).
SERVICE_KEYS = ServiceKeys(TEST_SECRETS["SERVICE_SECRET"])
