"""Authentication and authorisation: 401 for bad tokens, 403 for roles, 404 across tenants."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from domain.access import Role
from tests.api.conftest import JWT_SECRET, TokenFactory
from tests.support.requests import schedule_body


def _claims(**overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": str(uuid.uuid4()),
        "roles": ["ROLE_AGENT"],
        "applicationId": str(uuid.uuid4()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


UNSIGNED = jwt.encode(_claims(), key="", algorithm="none")
BAD_TOKENS = {
    "missing": {},
    "not a bearer": {"Authorization": "Basic dXNlcjpwYXNz"},
    "garbage": _bearer("not.a.jwt"),
    "alg none": _bearer(UNSIGNED),
    "wrong secret": _bearer(jwt.encode(_claims(), "another-secret-0123456789-0123456789", algorithm="HS256")),
    "HS512 with our secret": _bearer(jwt.encode(_claims(), JWT_SECRET, algorithm="HS512")),
    "expired": _bearer(jwt.encode(_claims(exp=int(datetime.now(UTC).timestamp()) - 60), JWT_SECRET)),
    "no exp": _bearer(jwt.encode(_claims(exp=None), JWT_SECRET)),
    "no applicationId": _bearer(jwt.encode(_claims(applicationId=None), JWT_SECRET)),
    "roles neither a list nor a string": _bearer(jwt.encode(_claims(roles={"ROLE_AGENT": True}), JWT_SECRET)),
}


@pytest.mark.parametrize("name", list(BAD_TOKENS))
async def test_bad_tokens_are_401_with_a_json_body(http: httpx.AsyncClient, name: str) -> None:
    response = await http.get(
        "/api/appointments/00000000-0000-4000-8000-000000000000", headers=BAD_TOKENS[name]
    )
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["status"] == 401 and body["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("method", "path", "role"),
    [
        ("POST", "/api/appointments/", Role.SUPERVISOR),
        ("POST", "/api/appointments/", Role.CUSTOMER),
        ("POST", "/api/appointments/", Role.ADMIN),
        ("PUT", "/api/appointments/", Role.CUSTOMER),
        ("PUT", "/api/appointments/reschedule/", Role.CUSTOMER),
        ("DELETE", "/api/appointments/00000000-0000-4000-8000-000000000000", Role.CUSTOMER),
        ("POST", "/api/appointments/activate/00000000-0000-4000-8000-000000000000", Role.AGENT),
        ("POST", "/api/appointments/activate/00000000-0000-4000-8000-000000000000", Role.SUPERVISOR),
        ("PUT", "/api/appointments/00000000-0000-4000-8000-000000000000/end", Role.SUPERVISOR),
        ("PUT", "/api/appointments/00000000-0000-4000-8000-000000000000/end", Role.CLIENT_SERVICE),
        ("GET", "/api/appointments/00000000-0000-4000-8000-000000000000", Role.ADMIN),
    ],
)
async def test_roles_the_contract_does_not_allow_are_403(
    http: httpx.AsyncClient, auth: TokenFactory, method: str, path: str, role: Role
) -> None:
    response = await http.request(method, path, json=schedule_body(), headers=auth(role))
    assert response.status_code == 403, response.text
    assert response.json()["status"] == 403


async def test_another_tenants_appointment_is_404_for_every_operation(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    owner = auth(Role.AGENT)
    created = (await http.post("/api/appointments", json=schedule_body(), headers=owner)).json()
    other_app = str(uuid.uuid4())
    supervisor = auth(Role.SUPERVISOR, application_id=other_app)
    client_service = auth(Role.CLIENT_SERVICE, application_id=other_app)
    agent = auth(Role.AGENT, application_id=other_app)
    appointment_id = created["id"]

    assert (await http.get(f"/api/appointments/{appointment_id}", headers=supervisor)).status_code == 404
    update = await http.put(
        "/api/appointments", json={"id": appointment_id, "title": "x"}, headers=supervisor
    )
    assert update.status_code == 404
    activate = await http.post(f"/api/appointments/activate/{appointment_id}", headers=client_service)
    assert activate.status_code == 404
    assert (await http.put(f"/api/appointments/{appointment_id}/end", headers=agent)).status_code == 404
    assert (await http.delete(f"/api/appointments/{appointment_id}", headers=supervisor)).status_code == 404
    # ... and nothing changed.
    assert (await http.get(f"/api/appointments/{appointment_id}", headers=owner)).json() == created


async def test_an_agent_may_not_touch_an_appointment_it_has_no_part_in(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    created = (await http.post("/api/appointments", json=schedule_body(), headers=auth(Role.AGENT))).json()
    stranger = auth(Role.AGENT)
    assert (await http.get(f"/api/appointments/{created['id']}", headers=stranger)).status_code == 403
    update = await http.put("/api/appointments", json={"id": created["id"], "title": "x"}, headers=stranger)
    assert update.status_code == 403


async def test_a_customer_reads_only_its_own_conference(http: httpx.AsyncClient, auth: TokenFactory) -> None:
    created = (await http.post("/api/appointments", json=schedule_body(), headers=auth(Role.AGENT))).json()
    own = auth(Role.CUSTOMER, conference_id=created["id"])
    other = auth(Role.CUSTOMER, conference_id=str(uuid.uuid4()))
    seen = await http.get(f"/api/appointments/{created['id']}", headers=own)
    assert seen.status_code == 200
    assert [p["type"] for p in seen.json()["participantIds"]] == ["CUSTOMER"]
    assert (await http.get(f"/api/appointments/{created['id']}", headers=other)).status_code == 403
