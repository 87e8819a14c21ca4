"""The development stack's secrets: random, made once per DATA_DIR and kept there.

Kept so that tokens printed by one run, and the payloads Temporal stored, stay valid after a
restart; random so that no development stack is protected by a value anyone can read in the
source. A variable set in the environment wins over the stored value.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from config.secrets import (
    DEVELOPMENT_SECRETS_FILE,
    LEGACY_DEVELOPMENT_PAYLOAD_KEY,
    development_secrets,
    over_development_secrets,
)

# Stacks made before secrets were generated encrypted Temporal payloads with this key id.
_LEGACY_KEY_ID = "dev"
# Temporal's state: present in a DATA_DIR where an earlier stack already ran.
_TEMPORAL_DB = "temporal.db"


def _generated(data_dir: Path) -> dict[str, str]:
    key_id = f"dev-{secrets.token_hex(4)}"
    keys = [f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"]
    if (data_dir / _TEMPORAL_DB).exists():
        # Histories of that earlier stack stay readable; new payloads use the new key.
        keys.append(f"{_LEGACY_KEY_ID}:{LEGACY_DEVELOPMENT_PAYLOAD_KEY}")
    return {
        "JWT_SECRET": secrets.token_urlsafe(48),
        "PAYLOAD_KEYS": ",".join(keys),
        "PAYLOAD_ACTIVE_KEY": key_id,
        "SERVICE_SECRET": secrets.token_urlsafe(48),
        "CODEC_DEVELOPMENT_KEY": secrets.token_urlsafe(32),
    }


def load_or_create(data_dir: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The stack's secrets: the environment's, else those stored in `data_dir`, else new ones."""
    env = os.environ if env is None else env
    stored = development_secrets(data_dir)
    generated = _generated(data_dir)
    if set(stored) != set(generated):
        # New, or written by an earlier version that generated fewer: what is there is kept.
        stored = {**generated, **stored}
        path = data_dir / DEVELOPMENT_SECRETS_FILE
        # Readable by its owner only, written whole or not at all.
        partial = path.with_suffix(".tmp")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump(stored, file, indent=2)
        partial.replace(path)
    return over_development_secrets(stored, env)
