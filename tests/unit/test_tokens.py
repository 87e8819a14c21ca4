"""`TokenVerifier`'s cache of verified tokens: the same answers as a full check, until `exp`."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from api.auth.tokens import ALGORITHM, InvalidToken, TokenVerifier, mint_token
from domain.access import Role

SECRET = "token-test-secret-0123456789-0123456789"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).timestamp()

    def __call__(self) -> float:
        return self.now


def _token(ttl: timedelta = timedelta(minutes=5), **claims: object) -> str:
    now = datetime.now(UTC)
    payload = {"sub": "agent-1", "roles": ["ROLE_AGENT"], "applicationId": "app", "exp": now + ttl} | claims
    return jwt.encode(payload, SECRET, algorithm=ALGORITHM)


async def test_a_cached_token_is_rejected_once_it_expires() -> None:
    clock = Clock()
    verifier = TokenVerifier(SECRET, clock=clock)
    token = _token(ttl=timedelta(seconds=60))
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]

    first = await verifier.verify(token)
    clock.now = expires - 1
    assert await verifier.verify(token) is first  # answered from the cache

    clock.now = expires  # PyJWT's rule: expired when exp <= now
    with pytest.raises(InvalidToken, match="expired"):
        await verifier.verify(token)


async def test_with_the_real_clock_too() -> None:
    verifier = TokenVerifier(SECRET)
    token = _token(ttl=timedelta(seconds=1))
    await verifier.verify(token)
    await asyncio.sleep(max(0.0, jwt.decode(token, options={"verify_signature": False})["exp"] - time.time()))
    with pytest.raises(InvalidToken, match="expired"):
        await verifier.verify(token)


async def test_a_rejected_token_is_not_remembered() -> None:
    verifier = TokenVerifier(SECRET)
    forged = mint_token("another-secret-0123456789-012345", sub="x", roles=["ROLE_ADMIN"], application_id="a")
    for _ in range(2):
        with pytest.raises(InvalidToken, match="Signature verification failed"):
            await verifier.verify(forged)
    unsigned = jwt.encode({"sub": "x", "exp": 2**31}, None, algorithm="none")
    for _ in range(2):
        with pytest.raises(InvalidToken):
            await verifier.verify(unsigned)


async def test_the_cache_keeps_the_most_recently_used_tokens_only() -> None:
    verifier = TokenVerifier(SECRET, cache_size=2)
    first, second, third = (_token(sub=f"agent-{n}") for n in range(3))
    a, b = await verifier.verify(first), await verifier.verify(second)
    assert await verifier.verify(first) is a  # now the most recently used
    await verifier.verify(third)  # evicts `second`
    assert await verifier.verify(first) is a
    checked_again = await verifier.verify(second)
    assert checked_again is not b and checked_again == b


async def test_cached_principals_are_those_of_the_claims() -> None:
    verifier = TokenVerifier(SECRET)
    token = _token(roles=["ROLE_CUSTOMER", "ROLE_UNKNOWN"], conferenceId="c-1")
    for _ in range(2):
        principal = await verifier.verify(token)
        assert principal.roles == frozenset({Role.CUSTOMER})
        assert principal.conference_id == "c-1"
