"""The identity provider's signing keys: a JWKS document, fetched, cached and refreshed.

The document comes from `JWT_JWKS_URL`, or from OpenID Connect discovery of `JWT_ISSUER`
(`{issuer}/.well-known/openid-configuration`, then its `jwks_uri`). Keys are cached by `kid`:

- a token naming an unknown `kid` makes the set be fetched again, at most once per
  `MIN_REFETCH_INTERVAL`, so that a rotated key is accepted without a restart and random `kid`s
  cannot make the service hammer the provider (while no set was ever fetched, every attempt
  counts against that interval too);
- a set older than `MAX_AGE` is refreshed in the background while the cached keys keep working,
  so that a key the provider withdrew stops working within that time;
- when the provider cannot be reached, the cached keys keep working; with none ever fetched, a
  token that needs one is the service's failure (503), not the caller's.

Each key is used only with the algorithms of its own type (`algorithms_of`): an RSA key verifies
RS256/384/512 and PS256/384/512, an EC key the ES algorithm of its curve, an OKP key EdDSA; a key
that names its `alg` that one alone. Symmetric (`oct`) keys in a JWKS are ignored: shared secrets
do not belong in a published key set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import msgspec

log = logging.getLogger("api.auth.keys")

MIN_REFETCH_INTERVAL = 10.0
MAX_AGE = 15 * 60.0
FETCH_TIMEOUT = httpx.Timeout(5.0)
# A key set is a few kilobytes; a larger answer is not a key set.
MAX_DOCUMENT_BYTES = 1024 * 1024
DISCOVERY_PATH = "/.well-known/openid-configuration"

_RSA = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
_EC_CURVES = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512", "secp256k1": "ES256K"}
ASYMMETRIC_ALGORITHMS = _RSA | frozenset(_EC_CURVES.values()) | {"EdDSA"}


class KeysUnavailable(Exception):
    """No key set could be fetched yet: the service cannot verify such tokens now."""


class UnknownKey(Exception):
    """The token names a key the provider's set does not hold."""


def algorithms_of(jwk: dict[str, Any]) -> frozenset[str]:
    """The algorithms a key may verify: its type's, or the one it names."""
    kty = jwk.get("kty")
    if kty == "RSA":
        allowed = _RSA
    elif kty == "EC" and jwk.get("crv") in _EC_CURVES:
        allowed = frozenset({_EC_CURVES[jwk["crv"]]})
    elif kty == "OKP" and jwk.get("crv") in ("Ed25519", "Ed448"):
        allowed = frozenset({"EdDSA"})
    else:
        return frozenset()
    named = jwk.get("alg")
    return allowed if named is None else allowed & {named}


class Key(msgspec.Struct, frozen=True):
    """A verification key and the algorithms it may be used with."""

    kid: str
    key: Any
    algorithms: frozenset[str]


def _keys_of(document: Any) -> dict[str, Key]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document: no `keys` list")
    keys: dict[str, Key] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str) or jwk.get("use") == "enc":
            continue
        algorithms = algorithms_of(jwk)
        if not algorithms:
            continue
        try:
            parsed = jwt.PyJWK(jwk, algorithm=sorted(algorithms)[0])
        except jwt.PyJWTError as error:
            log.warning("key %r of the JWKS skipped: %s", jwk["kid"], error)
            continue
        keys[jwk["kid"]] = Key(kid=jwk["kid"], key=parsed.key, algorithms=algorithms)
    return keys


class JwksKeys:
    def __init__(
        self,
        *,
        jwks_url: str | None = None,
        issuer: str | None = None,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if jwks_url is None and issuer is None:
            raise ValueError("a JWKS URL or an issuer to discover it from is needed")
        self._jwks_url = jwks_url
        self._issuer = issuer or ""
        self._discovery = None if jwks_url else f"{self._issuer.rstrip('/')}{DISCOVERY_PATH}"
        self._client = client or httpx.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=True)
        self._clock = clock
        self._keys: dict[str, Key] | None = None
        self._fetched_at = float("-inf")
        # When a fetch was last tried, and last tried for a kid the cached set did not hold.
        self._attempted_at = float("-inf")
        self._unknown_at = float("-inf")
        self._lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None

    @property
    def source(self) -> str:
        return self._jwks_url or self._discovery or ""

    async def get(self, kid: str) -> Key:
        """The key `kid` names; UnknownKey when the set has none, KeysUnavailable when no set
        could be fetched yet."""
        now = self._clock()
        if self._keys is not None and kid in self._keys:
            if now - self._fetched_at > MAX_AGE:
                self._refresh_in_background()
            return self._keys[kid]
        if self._keys is None:
            due = now - self._attempted_at >= MIN_REFETCH_INTERVAL
        else:
            due = now - self._unknown_at >= MIN_REFETCH_INTERVAL
            if due:
                self._unknown_at = now
        if due:
            await self._refresh(since=now)
        if self._keys is None:
            raise KeysUnavailable(f"the signing keys of {self.source} could not be fetched")
        if kid not in self._keys:
            raise UnknownKey(f"no key {kid!r} in the identity provider's key set")
        return self._keys[kid]

    async def close(self) -> None:
        if self._background is not None:
            self._background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._background
        await self._client.aclose()

    def _refresh_in_background(self) -> None:
        if self._background is None or self._background.done():
            self._background = asyncio.create_task(self._refresh(since=self._clock()))

    async def _refresh(self, since: float) -> None:
        """Fetch the set once for every caller that asked at `since` or before (single flight)."""
        async with self._lock:
            if self._attempted_at >= since:
                return  # fetched (or tried) while this caller waited
            self._attempted_at = self._clock()
            try:
                keys = _keys_of(await self._document(await self._jwks_location()))
            except (httpx.HTTPError, ValueError) as error:
                log.warning("signing keys not refreshed from %s: %s", self.source, error)
                return
            self._keys = keys
            self._fetched_at = self._clock()

    async def _jwks_location(self) -> str:
        if self._discovery is None:
            return self.source
        discovery = await self._document(self._discovery)
        if not isinstance(discovery, dict) or discovery.get("issuer") != self._issuer:
            # OpenID Connect Discovery §4.3: the document must be the issuer's own.
            raise ValueError(f"the discovery document is not that of the issuer {self._issuer}")
        location = discovery.get("jwks_uri")
        if not isinstance(location, str) or not location.startswith(("https://", "http://")):
            raise ValueError("the discovery document names no jwks_uri")
        return location

    async def _document(self, url: str) -> Any:
        async with self._client.stream("GET", url, headers={"Accept": "application/json"}) as response:
            response.raise_for_status()
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise ValueError(f"{url} answered more than {MAX_DOCUMENT_BYTES} bytes")
        try:
            return msgspec.json.decode(bytes(body))
        except msgspec.DecodeError as error:
            raise ValueError(f"{url} did not answer JSON: {error}") from None
