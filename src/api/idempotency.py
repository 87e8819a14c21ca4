"""`Idempotency-Key` on requests that create: the same key and body make the same resource once.

The key, scoped to the caller, stands for the new resource's id through a keyed hash
(domain.keys): nobody can compute the id of a resource from its key. Creating under an id that
exists already is the same operation as before, so every request with the key and the same body
answers with that one resource, however many arrive at once; the same key with a different body
is refused with 422, as the IETF Idempotency-Key draft and Stripe do.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from litestar.params import HeaderParameter

from domain.errors import invalid, unprocessable
from domain.keys import Purpose, ServiceKeys
from storage.idempotency import IdempotencyStore

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


# Declared on the creating routes, so the OpenAPI document shows it.
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name=HEADER,
        description=(
            "Retrying with the same key and body returns the resource the first request created; "
            "the same key with another body is refused (422)."
        ),
    ),
]


class Idempotency:
    def __init__(self, keys: ServiceKeys, store: IdempotencyStore) -> None:
        self._keys = keys
        self._store = store

    async def resource_id(self, key: str | None, scope: str, request: Any) -> str | None:
        """The id `key` stands for within `scope`, once `request` is known to be the key's own;
        None without a key."""
        if key is None:
            return None
        if not _KEY.match(key):
            raise invalid(HEADER, f"{HEADER}: 1 to 255 visible ASCII characters")
        resource_id = self._keys.resource_id(scope, key)
        # Sorted keys: the same body spelled in another order is the same request.
        body = msgspec.json.encode(request, order="sorted").decode()
        fingerprint = self._keys.digest(Purpose.REQUEST_FINGERPRINT, f"{scope}\0{body}").hex()
        if not await self._store.claim(resource_id, fingerprint):
            raise unprocessable(
                HEADER, f"{HEADER}: this key was used with a different request; use a new key for a new one"
            )
        return resource_id
