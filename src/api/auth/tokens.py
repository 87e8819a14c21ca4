"""Reading and minting the service's JWTs.

The algorithm is pinned: a token signed otherwise (`alg: none`, RS256 with the HMAC secret
as a public key, ...) is rejected before any claim is read.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt

from domain.access import Principal, Role
from domain.text import is_one_line

ALGORITHM = "HS256"


class InvalidToken(Exception):
    """The token is missing, malformed, expired or not signed by us."""


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
        secret: str,
        *,
        audience: str | None = None,
        issuer: str | None = None,
        cache_size: int = VERIFIED_TOKENS_CACHED,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._audience = audience
        self._issuer = issuer
        self._required = ["exp", "sub"] + (["aud"] if audience else []) + (["iss"] if issuer else [])
        self._cache_size = cache_size
        self._clock = clock
        # token -> (principal, exp), least recently used first.
        self._verified: OrderedDict[str, tuple[Principal, int]] = OrderedDict()

    def verify(self, token: str) -> Principal:
        cached = self._verified.get(token)
        if cached is not None:
            principal, expires = cached
            if expires <= self._clock():
                del self._verified[token]
                raise InvalidToken("Signature has expired")
            self._verified.move_to_end(token)
            return principal
        principal, expires = self._check(token)
        self._verified[token] = (principal, expires)
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
        return principal

    def _check(self, token: str) -> tuple[Principal, int]:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": self._required, "verify_aud": self._audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        # As PyJWT reads `exp` when it checks it.
        return principal_from_claims(claims), int(claims["exp"])


# The identities a token carries travel into every appointment it changes: one line each, bounded.
MAX_SUBJECT_LENGTH = 200
MAX_ID_LENGTH = 100
MAX_ROLES = 50


def _identity(claims: dict[str, object], name: str, limit: int) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value or len(value) > limit or not is_one_line(value):
        raise InvalidToken(f"claim {name!r} must be a string of 1 to {limit} characters on one line")
    return value


def principal_from_claims(claims: dict[str, object]) -> Principal:
    sub = _identity(claims, "sub", MAX_SUBJECT_LENGTH)
    application_id = _identity(claims, "applicationId", MAX_ID_LENGTH)
    conference_id = (
        None if claims.get("conferenceId") is None else _identity(claims, "conferenceId", MAX_ID_LENGTH)
    )
    raw_roles = claims.get("roles")
    if (
        not isinstance(raw_roles, list)
        or len(raw_roles) > MAX_ROLES
        or not all(isinstance(r, str) for r in raw_roles)
    ):
        raise InvalidToken(f"claim 'roles' must be a list of at most {MAX_ROLES} strings")
    known = {role.value for role in Role}
    return Principal(
        sub=sub,
        roles=frozenset(Role(r) for r in raw_roles if r in known),
        application_id=application_id,
        conference_id=conference_id,
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
