"""Reading and minting the service's JWTs.

Tokens come from the identity provider, signed with one of its keys (RS, PS, ES or EdDSA, by
`kid`, from its JWKS: api.auth.keys), or, for development and tests, HS256 with `JWT_SECRET`.
Either source, or both, may be configured. A token is verified only with the algorithm family
of the key it names, before any claim is read: `alg: none`, an HS256 token signed with a public
key as the secret, an RS/ES token signed by a key outside the set, or one without a `kid` where
only a key set is configured, are all refused.

Where a provider puts the roles and the application is configurable (`JWT_ROLES_CLAIM`, a dotted
path such as Keycloak's `realm_access.roles`; `JWT_APPLICATION_CLAIM`); roles the service does
not know are ignored.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import msgspec

from api.auth.keys import ASYMMETRIC_ALGORITHMS, JwksKeys, UnknownKey
from config import Settings
from domain.access import Principal, Role
from domain.text import is_one_line

ALGORITHM = "HS256"


class InvalidToken(Exception):
    """The token is missing, malformed, expired or not signed by a key the service trusts."""


class ClaimNames(msgspec.Struct, frozen=True):
    """Where the roles and the application are in a token's claims."""

    roles: str = "roles"
    application: str = "applicationId"


DEFAULT_CLAIMS = ClaimNames()


# Verified tokens kept per verifier: a client sends the same token with every request until
# it expires, and checking its signature and claims is a good part of a fast request.
VERIFIED_TOKENS_CACHED = 1024


class TokenVerifier:
    """Checks a token's signature and claims once, then answers from a bounded cache until `exp`.

    Only tokens that passed every check are cached, keyed by the whole token (signature
    included), so a cached answer is the answer a full check would give until the token
    expires; from then on it is rejected as PyJWT rejects it (`exp <= now`, no leeway).
    """

    def __init__(
        self,
        secret: str | None = None,
        *,
        keys: JwksKeys | None = None,
        audience: str | None = None,
        issuer: str | None = None,
        claims: ClaimNames = DEFAULT_CLAIMS,
        cache_size: int = VERIFIED_TOKENS_CACHED,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if secret is None and keys is None:
            raise ValueError("a secret or a key set is needed to verify tokens")
        self._secret = secret
        self._keys = keys
        self._audience = audience
        self._issuer = issuer
        self._claims = claims
        self._required = ["exp", "sub"] + (["aud"] if audience else []) + (["iss"] if issuer else [])
        self._cache_size = cache_size
        self._clock = clock
        # token -> (principal, exp), least recently used first.
        self._verified: OrderedDict[str, tuple[Principal, int]] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        """The token's principal; InvalidToken, or KeysUnavailable when no key set could be had."""
        cached = self._verified.get(token)
        if cached is not None:
            principal, expires = cached
            if expires <= self._clock():
                del self._verified[token]
                raise InvalidToken("Signature has expired")
            self._verified.move_to_end(token)
            return principal
        principal, expires = await self._check(token)
        self._verified[token] = (principal, expires)
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
        return principal

    async def close(self) -> None:
        if self._keys is not None:
            await self._keys.close()

    async def _key_for(self, token: str) -> tuple[Any, str]:
        """The key to verify `token` with, and the one algorithm it may be verified with."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        algorithm = header.get("alg")
        if algorithm == ALGORITHM and self._secret is not None:
            return self._secret, ALGORITHM
        if algorithm in ASYMMETRIC_ALGORITHMS and self._keys is not None:
            kid = header.get("kid")
            if not isinstance(kid, str) or not kid:
                raise InvalidToken("the token names no key (kid)")
            try:
                key = await self._keys.get(kid)
            except UnknownKey as exc:
                raise InvalidToken(str(exc)) from None
            if algorithm not in key.algorithms:
                raise InvalidToken(f"key {kid!r} does not sign with {algorithm}")
            return key.key, algorithm
        raise InvalidToken(f"tokens signed with {str(algorithm)[:20]!r} are not accepted")

    async def _check(self, token: str) -> tuple[Principal, int]:
        key, algorithm = await self._key_for(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": self._required, "verify_aud": self._audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        # As PyJWT reads `exp` when it checks it.
        return principal_from_claims(claims, self._claims), int(claims["exp"])


# The identities a token carries travel into every appointment it changes: one line each, bounded.
MAX_SUBJECT_LENGTH = 200
MAX_ID_LENGTH = 100
MAX_ROLES = 50


def claim(claims: Mapping[str, Any], name: str) -> Any:
    """The claim `name`: a claim of that very name (`https://example.com/app`), else a dotted path
    into nested claims (`realm_access.roles`)."""
    if name in claims:
        return claims[name]
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _identity(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value or len(value) > limit or not is_one_line(value):
        raise InvalidToken(f"claim {name!r} must be a string of 1 to {limit} characters on one line")
    return value


def _roles(value: Any, name: str) -> frozenset[Role]:
    """Known roles among a list of names (or one space-separated string); the others are ignored.

    No claim at all is no role (providers leave it out for users without roles): a 403 later,
    not a 401 now."""
    if value is None:
        return frozenset()
    names = value.split() if isinstance(value, str) else value
    if not isinstance(names, list) or len(names) > MAX_ROLES or not all(isinstance(r, str) for r in names):
        raise InvalidToken(f"claim {name!r} must be a list of at most {MAX_ROLES} strings")
    known = {role.value for role in Role}
    return frozenset(Role(r) for r in names if r in known)


def principal_from_claims(claims: Mapping[str, Any], names: ClaimNames = DEFAULT_CLAIMS) -> Principal:
    roles = _roles(claim(claims, names.roles), names.roles)
    application = claim(claims, names.application)
    if not application and roles == {Role.OPERATOR}:
        # A platform operator belongs to no application: it may decode any through the codec.
        application_id = ""
    else:
        application_id = _identity(application, names.application, MAX_ID_LENGTH)
    conference = claims.get("conferenceId")
    return Principal(
        sub=_identity(claims.get("sub"), "sub", MAX_SUBJECT_LENGTH),
        roles=roles,
        application_id=application_id,
        conference_id=None if conference is None else _identity(conference, "conferenceId", MAX_ID_LENGTH),
    )


def mint_token(
    secret: str,
    *,
    sub: str,
    roles: list[str],
    application_id: str,
    conference_id: str | None = None,
    ttl: timedelta = timedelta(hours=12),
    audience: str | None = None,
    issuer: str | None = None,
) -> str:
    """A development or test token; production tokens come from the identity provider."""
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": sub,
        "roles": roles,
        "applicationId": application_id,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    if conference_id is not None:
        claims["conferenceId"] = conference_id
    if audience is not None:
        claims["aud"] = audience
    if issuer is not None:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verifier_for(settings: Settings) -> TokenVerifier:
    """The API's verifier: HS256 with JWT_SECRET, the identity provider's keys, or both."""
    jwks_url, issuer = settings.jwks_source
    keys = None if (jwks_url, issuer) == (None, None) else JwksKeys(jwks_url=jwks_url, issuer=issuer)
    return TokenVerifier(
        settings.jwt_secret,
        keys=keys,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        claims=ClaimNames(roles=settings.jwt_roles_claim, application=settings.jwt_application_claim),
    )
