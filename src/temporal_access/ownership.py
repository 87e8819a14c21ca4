"""Which application a Temporal payload belongs to, read from its plaintext.

The codec endpoint decrypts a payload only for a caller entitled to its application (the
application's admins; platform operators for every one). The plaintext is authenticated by the
encryption, so what it says cannot be forged by whoever holds the ciphertext; and it is read at
the fields of the service's own structs, never in the client's own data (metadata).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import msgspec
from temporalio.api.common.v1 import Payload

# Where the structs that travel through Temporal carry their application: appointments and what
# holds one (workflow inputs, messages, webhook deliveries), commands (their actor), requests.
_PATHS = (
    ("applicationId",),
    ("appointment", "applicationId"),
    ("actor", "applicationId"),
    ("event", "appointment", "applicationId"),
)
_JSON = b"json/plain"
_NULL = b"binary/null"


class Nobody(Enum):
    """The owner of a payload that belongs to no application (a room ticket, a delivery result,
    a workflow's summary): only platform operators decode it."""

    NOBODY = "no application"


NOBODY = Nobody.NOBODY
# An empty payload (None): there is nothing in it to protect.
EVERYBODY = "everybody"


def owner_of(payload: Payload) -> str | Nobody:
    """The application id, EVERYBODY for a payload that holds nothing, or NOBODY."""
    encoding = payload.metadata.get("encoding")
    if encoding == _NULL:
        return EVERYBODY
    if encoding != _JSON:
        return NOBODY
    try:
        value: Any = msgspec.json.decode(payload.data)
    except msgspec.DecodeError:
        return NOBODY
    for path in _PATHS:
        found: Any = value
        for name in path:
            found = found.get(name) if isinstance(found, dict) else None
        if isinstance(found, str) and found:
            return found
    return NOBODY
