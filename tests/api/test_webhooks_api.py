"""`/api/applications/{applicationId}/webhooks`: subscriptions, their validation and SSRF guard.

The test stack allows loopback (WEBHOOKS_ALLOW_LOOPBACK=true, as `make run` does) and nothing
else. URLs are only validated here: no request is ever sent to any of them.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from domain.access import Role
from domain.webhooks import EventType
from storage.webhooks import WebhookStore
from tests.api.conftest import Stack, TokenFactory

ADMIN = Role.ADMIN
SECRET = "s3cret-s3cret-s3cret"
# Port 9 (discard) on loopback: accepted by the guard, never called by these tests.
RECEIVER = "http://127.0.0.1:9999/hooks"


def _path(application_id: str, *rest: str) -> str:
    return "/".join([f"/api/applications/{application_id}/webhooks", *rest])


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "url": RECEIVER,
        "events": ["APPOINTMENT_CREATED", "APPOINTMENT_CANCELLED"],
        "secret": SECRET,
        "headers": {"Authorization": "Bearer receiver-token", "X-Tenant": "acme"},
    }
    body.update(overrides)
    return body


async def _create(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str, **overrides: Any
) -> httpx.Response:
    return await http.post(_path(application_id), json=_body(**overrides), headers=auth(ADMIN))


async def _bad(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str, field: str, **overrides: Any
) -> dict[str, Any]:
    response = await _create(http, auth, application_id, **overrides)
    assert response.status_code == 400, (overrides, response.text)
    error = response.json()
    assert error["status"] == 400 and error["field"] == field, (overrides, error)
    assert SECRET not in response.text
    return error


async def test_create_list_get_delete_round_trip(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    created = await _create(http, auth, application_id)
    assert created.status_code == 201, created.text
    view = created.json()
    uuid.UUID(view["id"])
    assert view["url"] == RECEIVER
    assert view["events"] == ["APPOINTMENT_CREATED", "APPOINTMENT_CANCELLED"]
    # Header values may be the receiver's credentials: named, never shown.
    assert view["headers"] == {"Authorization": "********", "X-Tenant": "********"}
    assert view["enabled"] is True
    assert "disabledReason" not in view and "secret" not in view and view["createdAt"]

    everything = await _create(http, auth, application_id, events=["*"], headers={})
    assert everything.status_code == 201, everything.text
    assert everything.json()["events"] == ["*"] and everything.json()["headers"] == {}

    listed = await http.get(_path(application_id), headers=auth(ADMIN))
    assert listed.status_code == 200
    assert listed.json() == [view, everything.json()]

    fetched = await http.get(_path(application_id, view["id"]), headers=auth(ADMIN))
    assert fetched.status_code == 200 and fetched.json() == view

    deleted = await http.delete(_path(application_id, view["id"]), headers=auth(ADMIN))
    assert deleted.status_code == 204 and deleted.content == b""
    assert (await http.get(_path(application_id, view["id"]), headers=auth(ADMIN))).status_code == 404
    assert (await http.delete(_path(application_id, view["id"]), headers=auth(ADMIN))).status_code == 404
    listed = await http.get(_path(application_id), headers=auth(ADMIN))
    assert [w["id"] for w in listed.json()] == [everything.json()["id"]]


async def test_the_secret_is_never_returned(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    created = await _create(http, auth, application_id)
    webhook_id = created.json()["id"]
    responses = [
        created,
        await http.get(_path(application_id), headers=auth(ADMIN)),
        await http.get(_path(application_id, webhook_id), headers=auth(ADMIN)),
        await http.get(_path(application_id, webhook_id, "deliveries"), headers=auth(ADMIN)),
    ]
    for response in responses:
        assert response.status_code in (200, 201), response.text
        assert SECRET not in response.text and "secret" not in response.text.lower()
        assert "receiver-token" not in response.text


async def test_duplicate_events_are_removed(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    every = [e.value for e in EventType]
    created = await _create(http, auth, application_id, events=[*every, *reversed(every), "*", "*"])
    assert created.status_code == 201, created.text
    assert created.json()["events"] == [*every, "*"]


async def test_unknown_ids_are_not_found(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    for webhook_id in (str(uuid.uuid4()), "not-a-uuid"):
        for path in (_path(application_id, webhook_id), _path(application_id, webhook_id, "deliveries")):
            response = await http.get(path, headers=auth(ADMIN))
            assert response.status_code == 404, (path, response.text)
        response = await http.delete(_path(application_id, webhook_id), headers=auth(ADMIN))
        assert response.status_code == 404


async def test_validation_names_the_field(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    await _bad(http, auth, application_id, "url", url="ftp://127.0.0.1/x")
    await _bad(http, auth, application_id, "url", url="127.0.0.1/x")
    await _bad(http, auth, application_id, "url", url="http://user:pw@127.0.0.1:9999/x")
    await _bad(http, auth, application_id, "url", url="http://127.0.0.1:9999/" + "x" * 2100)
    await _bad(http, auth, application_id, "events", events=[])
    error = await _bad(http, auth, application_id, "events[1]", events=["APPOINTMENT_CREATED", "BIRTHDAY"])
    assert "BIRTHDAY" in error["message"]
    await _bad(http, auth, application_id, "secret", secret="too-short")
    await _bad(http, auth, application_id, "secret", secret="x" * 257)
    await _bad(http, auth, application_id, "headers.Bad Name", headers={"Bad Name": "x"})
    await _bad(http, auth, application_id, "headers.X-Ok", headers={"X-Ok": "a\r\nX-Injected: 1"})
    await _bad(http, auth, application_id, "headers.X-Ok", headers={"X-Ok": "a\nb"})
    for reserved in ("Content-Type", "x-webhook-signature", "X-Webhook-Id", "Host", "Content-Length"):
        await _bad(http, auth, application_id, f"headers.{reserved}", headers={reserved: "x"})
    await _bad(http, auth, application_id, "headers", headers={f"X-H{i}": "v" for i in range(21)})

    # Missing or mistyped fields, as msgspec reports them.
    body = _body()
    del body["secret"]
    response = await http.post(_path(application_id), json=body, headers=auth(ADMIN))
    assert response.status_code == 400 and response.json()["field"] == "secret", response.text
    response = await http.post(_path(application_id), json=_body(events="*"), headers=auth(ADMIN))
    assert response.status_code == 400 and response.json()["field"] == "events", response.text

    # Nothing was stored by the refused requests.
    assert (await http.get(_path(application_id), headers=auth(ADMIN))).json() == []


async def test_loopback_is_allowed_on_the_test_stack(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    for url in ("http://127.0.0.1:9999/x", "http://localhost:9999/x", "http://[::1]:9999/x"):
        response = await _create(http, auth, application_id, url=url)
        assert response.status_code == 201, (url, response.text)


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/x",
        "http://169.254.169.254/latest",
        "http://[::ffff:10.0.0.1]/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://[fd00::1]/",
        "http://0.0.0.0:9999/",
    ],
)
async def test_private_and_link_local_urls_are_refused(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str, url: str
) -> None:
    error = await _bad(http, auth, application_id, "url", url=url)
    assert "cannot be sent" in error["message"]


async def test_an_application_has_at_most_20_webhooks(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    for _ in range(20):
        assert (await _create(http, auth, application_id)).status_code == 201
    response = await _create(http, auth, application_id)
    assert response.status_code == 409, response.text


async def test_only_the_applications_admins_manage_its_webhooks(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    webhook_id = (await _create(http, auth, application_id)).json()["id"]
    paths = [
        _path(application_id),
        _path(application_id, webhook_id),
        _path(application_id, webhook_id, "deliveries"),
    ]
    for role in (Role.AGENT, Role.SUPERVISOR, Role.CLIENT_SERVICE, Role.CUSTOMER):
        headers = auth(role)
        assert (await http.post(paths[0], json=_body(), headers=headers)).status_code == 403
        for path in paths:
            assert (await http.get(path, headers=headers)).status_code == 403, (role, path)
        assert (await http.delete(paths[1], headers=headers)).status_code == 403
    for path in paths:
        assert (await http.get(path)).status_code == 401

    # An admin of another application: the webhooks do not exist for it.
    other = auth(ADMIN, application_id=str(uuid.uuid4()))
    assert (await http.post(paths[0], json=_body(), headers=other)).status_code == 404
    for path in paths:
        assert (await http.get(path, headers=other)).status_code == 404, path
    assert (await http.delete(paths[1], headers=other)).status_code == 404
    # ... nor may it reach them through its own application's path.
    other_id = str(uuid.uuid4())
    own_path = _path(other_id, webhook_id)
    assert (await http.get(own_path, headers=auth(ADMIN, application_id=other_id))).status_code == 404
    assert (await http.get(paths[1], headers=auth(ADMIN))).status_code == 200


async def test_deliveries_of_a_new_webhook_are_empty_then_newest_first(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str, stack: Stack
) -> None:
    webhook_id = (await _create(http, auth, application_id)).json()["id"]
    deliveries = _path(application_id, webhook_id, "deliveries")
    response = await http.get(deliveries, headers=auth(ADMIN))
    assert response.status_code == 200 and response.json() == []

    store = WebhookStore(stack.engine)
    appointment_id = str(uuid.uuid4())
    await store.record_attempt(webhook_id, "e1", "APPOINTMENT_CREATED", appointment_id, 1, 1, 500, None, 12)
    await store.record_attempt(
        webhook_id, "e1", "APPOINTMENT_CREATED", appointment_id, 1, 2, None, "timeout", None
    )
    await store.record_attempt(webhook_id, "e1", "APPOINTMENT_CREATED", appointment_id, 1, 3, 204, None, 7)

    response = await http.get(deliveries, headers=auth(ADMIN))
    assert response.status_code == 200, response.text
    attempts = response.json()
    assert [a["attempt"] for a in attempts] == [3, 2, 1]
    assert attempts[0] == {
        "eventId": "e1",
        "type": "APPOINTMENT_CREATED",
        "appointmentId": appointment_id,
        "version": 1,
        "attempt": 3,
        "statusCode": 204,
        "durationMs": 7,
        "attemptedAt": attempts[0]["attemptedAt"],
    }
    assert attempts[1]["error"] == "timeout" and "statusCode" not in attempts[1]

    limited = await http.get(deliveries, params={"limit": "2"}, headers=auth(ADMIN))
    assert [a["attempt"] for a in limited.json()] == [3, 2]
    assert len((await http.get(deliveries, params={"limit": "9999"}, headers=auth(ADMIN))).json()) == 3
    for bad in ("0", "-1", "many"):
        response = await http.get(deliveries, params={"limit": bad}, headers=auth(ADMIN))
        assert response.status_code == 400 and response.json()["field"] == "limit", (bad, response.text)


async def test_a_disabled_webhook_shows_why(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str, stack: Stack
) -> None:
    webhook_id = (await _create(http, auth, application_id)).json()["id"]
    assert await WebhookStore(stack.engine).disable(webhook_id, "the receiver answered 410 Gone")
    view = (await http.get(_path(application_id, webhook_id), headers=auth(ADMIN))).json()
    assert view["enabled"] is False and view["disabledReason"] == "the receiver answered 410 Gone"
