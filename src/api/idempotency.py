"""`Idempotency-Key` on requests that create: the same key makes the same resource once.

The key, scoped to the caller, is turned into the new resource's id. Creating under an id that
exists already is then the same operation as before, and every request with the key answers
with that one resource, however many arrive at once.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from litestar.params import HeaderParameter

from domain.errors import invalid

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_NAMESPACE = uuid.UUID("0b7e4f52-3f1c-4e55-9a8f-3c1d2e6a9b04")


# Declared on the creating routes, so the OpenAPI document shows it.
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name=HEADER,
        description="Retrying with the same key returns the resource the first request created.",
    ),
]


def key_id(key: str | None, scope: str) -> str | None:
    """The id `key` stands for within `scope`, or None without a key."""
    if key is None:
        return None
    if not _KEY.match(key):
        raise invalid(HEADER, f"{HEADER}: 1 to 255 visible ASCII characters")
    return str(uuid.uuid5(_NAMESPACE, f"{scope}\0{key}"))
