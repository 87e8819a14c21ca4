"""Answers as the contract writes them, for requests as the contract writes them.

The contract's examples quote values (`"title": "\\"Product installation review\\""`); what comes
back is the value, unquoted, in every string field the contract quotes. Its code samples send the
token alone in `Authorization`. Each rule on the caller's own application is checked where the
request names one: in its path, its query or its body.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt

from domain.access import Role
from tests.api.conftest import JWT_SECRET, TokenFactory
from tests.support.requests import iso


def _quoted(value: str) -> str:
    return f'"{value}"'


def _contract_body(start: datetime) -> dict[str, object]:
    """The contract's example of ScheduleAppointmentRequest, starting at `start`."""
    return {
        "applicationId": None,
        "customer": {
            "contact": {"primaryEmail": "user@provider.net", "primaryPhone": "2102234988"},
            "metadata": {"refNo": "CS-9838"},
            "name": {"firstName": "Bobby", "lastName": "Ewing"},
            "username": "ewingb@myorg.com",
        },
        "duration": _quoted("PT5M"),
        "interaction": {
            "customFields": {"property1": "string", "property2": "string"},
            "routing": {"properties": {"deploymentId": "c461a74"}, "type": "GENESYS_CLOUD_FLOW"},
        },
        "locale": _quoted("en-GB"),
        "metadata": {"prop1": "value1"},
        "notes": _quoted("CRM ref: 3nv-1gt-4rt"),
        "start": _quoted(iso(start)),
        "timezone": _quoted("Europe/Berlin"),
        "title": _quoted("Product installation review"),
    }


async def test_quoted_example_values_come_back_unquoted(http: httpx.AsyncClient, auth: TokenFactory) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    agent = auth(Role.AGENT)
    created = await http.post("/api/appointments/", json=_contract_body(start), headers=agent)
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["title"] == "Product installation review"
    assert body["notes"] == "CRM ref: 3nv-1gt-4rt"
    assert body["locale"] == "en-GB"
    assert body["timezone"] == "Europe/Berlin"
    assert body["duration"] == "PT5M"
    assert body["start"] == iso(start)

    # The same on a change, and a title whose quotes are its own text stays as it is.
    updated = await http.put(
        "/api/appointments/",
        json={"id": body["id"], "title": _quoted("Review"), "notes": 'He said "hi" and "bye"'},
        headers=agent,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["title"] == "Review"
    assert updated.json()["notes"] == 'He said "hi" and "bye"'

    # Quoted notes may span lines, as unquoted ones may.
    multiline = await http.put(
        "/api/appointments/", json={"id": body["id"], "notes": '"first\\nsecond"'}, headers=agent
    )
    assert multiline.status_code == 200, multiline.text
    assert multiline.json()["notes"] == "first\nsecond"

    # A quoted value is held to the text rule once unquoted: no line break smuggled in a title.
    smuggled = await http.put(
        "/api/appointments/", json={"id": body["id"], "title": '"a\\nb"'}, headers=agent
    )
    assert smuggled.status_code == 400 and smuggled.json()["field"] == "title", smuggled.text


async def test_the_token_alone_authenticates_as_in_the_contracts_samples(
    http: httpx.AsyncClient, application_id: str
) -> None:
    token = jwt.encode(
        {
            "sub": str(uuid.uuid4()),
            "roles": ["ROLE_AGENT"],
            "applicationId": application_id,
            "exp": int((datetime.now(UTC) + timedelta(minutes=5)).timestamp()),
        },
        JWT_SECRET,
    )
    response = await http.get("/api/appointments/", headers={"Authorization": token})
    assert response.status_code == 200, response.text
    refused = await http.get("/api/appointments/", headers={"Authorization": "not-a-token"})
    assert refused.status_code == 401


async def test_another_application_is_refused_wherever_a_request_names_it(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    other = str(uuid.uuid4())
    agent, admin = auth(Role.AGENT), auth(Role.ADMIN)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    in_body = {**_contract_body(start), "applicationId": other}
    answers = {
        "body": await http.post("/api/appointments/", json=in_body, headers=agent),
        "quoted body": await http.post(
            "/api/appointments/", json={**in_body, "applicationId": _quoted(other)}, headers=agent
        ),
        "query": await http.get("/api/appointments/", params={"applicationId": other}, headers=agent),
        "notification body": await http.post(
            "/api/notifications/emails/confirm",
            json={"code": "123456", "applicationId": other},
            headers=admin,
        ),
    }
    for where, response in answers.items():
        assert response.status_code == 403, (where, response.text)
    # A resource of another application is absent, not forbidden.
    for path in (f"/api/applications/{other}/settings", f"/api/applications/{other}/webhooks"):
        response = await http.get(path, headers=admin)
        assert response.status_code == 404, (path, response.text)
    # The caller's own, spelled as the contract quotes it, is its own.
    own = await http.get(
        "/api/appointments/", params={"applicationId": _quoted(application_id)}, headers=agent
    )
    assert own.status_code == 200, own.text
