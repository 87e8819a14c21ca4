"""Token attacks: each is refused with 401 or 403 and no data."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from litestar.testing import AsyncTestClient

from api.app import create_app
from domain.access import Role
from tests.api.conftest import JWT_SECRET, Stack, TokenFactory
from tests.support.requests import schedule_body
from tests.support.secrets import session_settings

AUDIENCE, ISSUER = "appointments-api", "https://idp.example.test/"
MISSING = "/api/appointments/00000000-0000-4000-8000-000000000000"


def _claims(**overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": "agent-1",
        "roles": ["ROLE_AGENT"],
        "applicationId": str(uuid.uuid4()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "aud": AUDIENCE,
        "iss": ISSUER,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
async def strict(stack: Stack) -> AsyncIterator[AsyncTestClient]:
    """The same service, configured to require an audience and an issuer."""
    settings = session_settings(
        {
            "DATABASE_URL": stack.settings.database_url,
            "TEMPORAL_ADDRESS": stack.settings.temporal_address,
            "JWT_AUDIENCE": AUDIENCE,
            "JWT_ISSUER": ISSUER,
        }
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


async def test_a_token_with_the_configured_audience_and_issuer_passes(strict: AsyncTestClient) -> None:
    response = await strict.get(MISSING, headers=_bearer(jwt.encode(_claims(), JWT_SECRET)))
    assert response.status_code == 404  # authenticated; the appointment just does not exist


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "another-api"},
        {"aud": None},
        {"iss": "https://evil.example.test/"},
        {"iss": None},
        {"nbf": int((datetime.now(UTC) + timedelta(hours=1)).timestamp())},
        {"exp": int((datetime.now(UTC) - timedelta(seconds=1)).timestamp())},
    ],
    ids=["wrong aud", "no aud", "wrong iss", "no iss", "not yet valid", "expired"],
)
async def test_audience_issuer_and_validity_are_enforced(strict: AsyncTestClient, overrides: dict) -> None:
    response = await strict.get(MISSING, headers=_bearer(jwt.encode(_claims(**overrides), JWT_SECRET)))
    assert response.status_code == 401, response.text
    assert set(response.json()) <= {"status", "error", "message", "field"}


async def test_rs256_and_key_confusion_are_refused(http: httpx.AsyncClient) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rs256 = jwt.encode(_claims(aud=None, iss=None), private, algorithm="RS256")
    assert (await http.get(MISSING, headers=_bearer(rs256))).status_code == 401
    # The classic confusion: an HS256 token whose "secret" is the public key the server would trust.
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = ".".join(
        jwt.utils.base64url_encode(json.dumps(part).encode()).decode()
        for part in ({"alg": "HS256", "typ": "JWT"}, _claims(aud=None, iss=None))
    )
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    confused = f"{signing_input}.{jwt.utils.base64url_encode(mac).decode()}"
    assert (await http.get(MISSING, headers=_bearer(confused))).status_code == 401


async def test_forged_roles_with_a_wrong_signature_see_nothing(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    created = (await http.post("/api/appointments", json=schedule_body(), headers=auth(Role.AGENT))).json()
    genuine = auth(Role.CUSTOMER, conference_id=created["id"])["Authorization"].removeprefix("Bearer ")
    header, _, signature = genuine.split(".")
    forged_claims = _claims(
        sub="x", roles=["ROLE_SUPERVISOR", "ROLE_ADMIN"], applicationId=application_id, aud=None, iss=None
    )
    forged_payload = jwt.utils.base64url_encode(json.dumps(forged_claims).encode())
    forged = f"{header}.{forged_payload.decode()}.{signature}"
    response = await http.get(f"/api/appointments/{created['id']}", headers=_bearer(forged))
    assert response.status_code == 401 and "applicationId" not in response.text


async def test_cross_tenant_and_cross_conference_tokens_get_no_data(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    created = (await http.post("/api/appointments", json=schedule_body(), headers=auth(Role.AGENT))).json()
    other_conference = auth(Role.CUSTOMER, conference_id=str(uuid.uuid4()))
    response = await http.get(f"/api/appointments/{created['id']}", headers=other_conference)
    assert response.status_code == 403 and created["title"] not in response.text
    participant = created["participantIds"][0]["id"]
    response = await http.get(
        f"/api/appointments/{created['id']}/participants/{participant}", headers=other_conference
    )
    assert response.status_code == 403

    foreign_admin = auth(Role.ADMIN, application_id=str(uuid.uuid4()))
    for path in (
        f"/api/applications/{application_id}/settings",
        f"/api/applications/{application_id}/webhooks",
    ):
        assert (await http.get(path, headers=foreign_admin)).status_code == 404
    foreign_agent = auth(Role.AGENT, application_id=str(uuid.uuid4()))
    assert (await http.get(f"/api/appointments/{created['id']}", headers=foreign_agent)).status_code == 404
