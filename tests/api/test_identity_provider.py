"""Tokens of a real identity provider: RS256/ES256 keys published as a JWKS over HTTP.

The provider (tests/support/identity_provider.py) serves its key set and an OpenID Connect
discovery document on loopback; tokens are signed with keys `cryptography` made. Each test runs
the API with the provider's settings against the session's PostgreSQL and Temporal, and asks for
an appointment that does not exist: 404 means the token was accepted, 401 that it was not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from api.auth import keys as key_source
from devstack.net import free_port
from tests.support.identity_provider import (
    IdentityProvider,
    ec_key,
    public_jwk,
    rsa_key,
    start_identity_provider,
)
from tests.support.secrets import session_settings
from tests.support.serving import running_service

Api = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]
SUPERVISOR = {"roles": ["ROLE_SUPERVISOR"], "applicationId": "app-1"}


@pytest.fixture
async def provider() -> AsyncIterator[IdentityProvider]:
    provider, server, task = await start_identity_provider()
    provider.add_key("rsa-1")
    provider.add_key("ec-1", ec_key())
    yield provider
    server.should_exit = True
    await task


@pytest.fixture
def api(database_url: str, dev_server: WorkflowEnvironment, engine: AsyncEngine) -> Api:
    """`async with api(JWT_JWKS_URL=...) as client`: the API with those settings, over HTTP."""

    @asynccontextmanager
    async def serving(**env: str) -> AsyncIterator[httpx.AsyncClient]:
        settings = session_settings(
            {
                "DATABASE_URL": database_url,
                "TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
                "HTTP_PORT": str(free_port()),
                "JWT_SECRET": "",
                **env,
            }
        )
        async with (
            running_service(dev_server.client, settings, engine, with_worker=False) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=30) as client,
        ):
            yield client

    return serving


async def _status(client: httpx.AsyncClient, token: str) -> int:
    response = await client.get(
        f"/api/appointments/{uuid.uuid4()}", headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _hs256_with(secret: bytes, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A token signed by hand, as an attacker would, with any bytes as the HMAC secret."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


async def test_rs256_and_es256_tokens_of_the_key_set_are_accepted(
    provider: IdentityProvider, api: Api
) -> None:
    async with api(JWT_JWKS_URL=provider.jwks_url) as client:
        assert await _status(client, provider.token("rsa-1", **SUPERVISOR)) == 404
        assert await _status(client, provider.token("ec-1", **SUPERVISOR)) == 404
        assert await _status(client, provider.token("rsa-1", algorithm="PS256", **SUPERVISOR)) == 404
    assert provider.fetches == 1  # cached: one fetch for every token


async def test_a_rotated_key_is_fetched_once_and_accepted_without_a_restart(
    provider: IdentityProvider, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with api(JWT_JWKS_URL=provider.jwks_url) as client:
        assert await _status(client, provider.token("rsa-1", **SUPERVISOR)) == 404
        provider.add_key("rsa-2")
        assert await _status(client, provider.token("rsa-2", **SUPERVISOR)) == 404
        assert provider.fetches == 2
        # Unknown kids do not make the service hammer the provider: at most one fetch per interval.
        for n in range(20):
            assert await _status(client, provider.token(f"rsa-{n + 3}", key=rsa_key(), **SUPERVISOR)) == 401
        assert provider.fetches == 2
        # A key withdrawn from the set stops working once the set is fetched again.
        monkeypatch.setattr(key_source, "MIN_REFETCH_INTERVAL", 0.0)
        del provider.keys["rsa-2"]
        assert await _status(client, provider.token("rsa-2", key=rsa_key(), **SUPERVISOR)) == 401


async def test_keys_come_from_openid_connect_discovery_of_the_issuer(
    provider: IdentityProvider, api: Api
) -> None:
    async with api(JWT_ISSUER=provider.issuer) as client:
        assert await _status(client, provider.token("rsa-1", **SUPERVISOR)) == 404
        assert (
            await _status(client, provider.token("rsa-1", **{**SUPERVISOR, "iss": "https://other.test"}))
            == 401
        )
        without = provider.token("rsa-1", **SUPERVISOR)
        claims = json.loads(base64.urlsafe_b64decode(without.split(".")[1] + "=="))
        assert claims["iss"] == provider.issuer


async def test_the_audience_is_required_when_configured(provider: IdentityProvider, api: Api) -> None:
    async with api(JWT_JWKS_URL=provider.jwks_url, JWT_AUDIENCE="appointments") as client:
        assert await _status(client, provider.token("rsa-1", aud="appointments", **SUPERVISOR)) == 404
        assert (
            await _status(client, provider.token("rsa-1", aud=["other", "appointments"], **SUPERVISOR)) == 404
        )
        assert await _status(client, provider.token("rsa-1", aud="other", **SUPERVISOR)) == 401
        assert await _status(client, provider.token("rsa-1", **SUPERVISOR)) == 401


async def test_roles_and_application_are_read_where_the_provider_puts_them(
    provider: IdentityProvider, api: Api
) -> None:
    """Keycloak's realm roles, a namespaced application claim (Auth0), unknown roles ignored."""
    async with api(
        JWT_JWKS_URL=provider.jwks_url,
        JWT_ROLES_CLAIM="realm_access.roles",
        JWT_APPLICATION_CLAIM="https://appointments.example/application",
    ) as client:
        nested = provider.token(
            "rsa-1",
            realm_access={"roles": ["offline_access", "uma_authorization", "ROLE_SUPERVISOR"]},
            **{"https://appointments.example/application": "app-1"},
        )
        assert await _status(client, nested) == 404
        listed = await client.get("/api/appointments", headers={"Authorization": f"Bearer {nested}"})
        assert listed.status_code == 200 and listed.json()["total"] == 0
        # The roles at the top level are not where this provider puts them: no role, 403.
        flat = provider.token(
            "rsa-1", roles=["ROLE_SUPERVISOR"], **{"https://appointments.example/application": "a"}
        )
        assert await _status(client, flat) == 403
        nameless = provider.token("rsa-1", realm_access={"roles": ["ROLE_SUPERVISOR"]})
        assert await _status(client, nameless) == 401


async def test_every_algorithm_attack_is_401(provider: IdentityProvider, api: Api) -> None:
    rsa_public = (
        provider.keys["rsa-1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    claims = {"sub": "mallory", "iss": provider.issuer, "exp": 2**31 - 1, **SUPERVISOR}
    attacks = {
        "alg none": ".".join(
            _b64(json.dumps(part).encode()) for part in ({"alg": "none", "kid": "rsa-1"}, claims)
        )
        + ".",
        "HS256 with the public key as the secret": _hs256_with(
            rsa_public, {"alg": "HS256", "kid": "rsa-1"}, claims
        ),
        "HS256 with the published JWK as the secret": _hs256_with(
            json.dumps(public_jwk("rsa-1", provider.keys["rsa-1"])).encode(),
            {"alg": "HS256", "kid": "rsa-1"},
            claims,
        ),
        "a key outside the set under its kid": provider.token("rsa-1", key=rsa_key(), **SUPERVISOR),
        "an unknown kid": provider.token("rsa-9", key=rsa_key(), **SUPERVISOR),
        "no kid": provider.token(None, key=provider.keys["rsa-1"], **SUPERVISOR),
        "ES256 claimed for an RSA key": provider.token(
            "rsa-1", key=ec_key(), algorithm="ES256", **SUPERVISOR
        ),
        "RS256 claimed for an EC key": provider.token("ec-1", key=rsa_key(), algorithm="RS256", **SUPERVISOR),
        "HS512": _hs256_with(b"x" * 64, {"alg": "HS512", "kid": "rsa-1"}, claims),
        "expired": provider.token("rsa-1", ttl=-60, **SUPERVISOR),
    }
    async with api(JWT_JWKS_URL=provider.jwks_url) as client:
        for name, token in attacks.items():
            assert await _status(client, token) == 401, name


async def test_hs256_development_tokens_work_beside_a_key_set(provider: IdentityProvider, api: Api) -> None:
    secret = "a-development-secret-of-at-least-32-characters"
    hs256 = jwt_hs256(secret)
    async with api(JWT_JWKS_URL=provider.jwks_url, JWT_SECRET=secret) as client:
        assert await _status(client, hs256) == 404
        assert await _status(client, provider.token("rsa-1", **SUPERVISOR)) == 404
    # Without the secret, an HS256 token is refused, whatever its signature.
    async with api(JWT_JWKS_URL=provider.jwks_url) as client:
        assert await _status(client, hs256) == 401


async def test_a_key_source_that_goes_away_and_comes_back(
    provider: IdentityProvider, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(key_source, "MIN_REFETCH_INTERVAL", 0.0)
    provider.available = False
    async with api(JWT_JWKS_URL=provider.jwks_url) as client:
        # Never fetched: the service cannot verify such tokens; its fault, not the caller's.
        never = await client.get(
            f"/api/appointments/{uuid.uuid4()}", headers=_bearer(provider.token("rsa-1", **SUPERVISOR))
        )
        assert never.status_code == 503 and never.headers["retry-after"]
        provider.available = True
        assert await _status(client, provider.token("rsa-1", **SUPERVISOR)) == 404
        provider.available = False
        # Gone again: the cached keys keep working.
        assert await _status(client, provider.token("ec-1", **SUPERVISOR)) == 404
        assert await _status(client, provider.token("rsa-9", key=rsa_key(), **SUPERVISOR)) == 401


async def test_operators_decode_and_do_nothing_else(provider: IdentityProvider, api: Api) -> None:
    async with api(JWT_JWKS_URL=provider.jwks_url) as client:
        operator = _bearer(provider.token("rsa-1", roles=["ROLE_OPERATOR"]))  # no application
        decoded = await client.post("/codec/decode", json={"payloads": []}, headers=operator)
        assert decoded.status_code == 200, decoded.text
        assert (await client.get(f"/api/appointments/{uuid.uuid4()}", headers=operator)).status_code == 403
        assert (await client.get("/api/appointments", headers=operator)).status_code == 403


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def jwt_hs256(secret: str) -> str:
    return jwt.encode({"sub": "dev", "exp": 2**31 - 1, **SUPERVISOR}, secret, algorithm="HS256")
