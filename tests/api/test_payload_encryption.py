"""No personal data in clear in Temporal; the codec endpoint decrypts for admins only."""

from __future__ import annotations

import base64
import uuid

import httpx
from google.protobuf import json_format
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from devstack.net import free_port
from domain.access import Role
from tests.api.conftest import Stack, TokenFactory
from tests.support.requests import schedule_body
from tests.support.secrets import session_settings
from tests.support.serving import running_service
from workflows.appointment import workflow_id


async def _raw_payloads(stack: Stack, appointment_id: str) -> list:
    """Every payload of the workflow's history, read without any codec, as an operator's tools see it."""
    raw = await Client.connect(stack.temporal.service_client.config.target_host)
    history = await raw.get_workflow_handle(workflow_id(appointment_id)).fetch_history()
    payloads = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            payloads.extend(event.workflow_execution_started_event_attributes.input.payloads)
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            payloads.extend(event.activity_task_scheduled_event_attributes.input.payloads)
    return payloads


async def test_histories_hold_only_encrypted_payloads(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory
) -> None:
    created = (await http.post("/api/appointments", json=schedule_body(), headers=auth(Role.AGENT))).json()
    payloads = await _raw_payloads(stack, created["id"])
    assert payloads
    for payload in payloads:
        assert payload.metadata["encoding"] == b"binary/encrypted"
        assert payload.metadata["encryption-key-id"] == b"test"  # the session's active key
        assert b"Bobby" not in payload.data and b"user@provider.net" not in payload.data


async def test_the_codec_endpoint_decrypts_for_admins_only(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory
) -> None:
    created = (await http.post("/api/appointments", json=schedule_body(), headers=auth(Role.AGENT))).json()
    request = json_format.MessageToDict(Payloads(payloads=(await _raw_payloads(stack, created["id"]))[:1]))

    decoded = await http.post("/codec/decode", json=request, headers=auth(Role.ADMIN))
    assert decoded.status_code == 200, decoded.text
    first = decoded.json()["payloads"][0]
    assert base64.b64decode(first["metadata"]["encoding"]) == b"json/plain"
    assert b"Bobby" in base64.b64decode(first["data"])

    # encode answers payloads that decode back to the same.
    encoded = await http.post("/codec/encode", json=decoded.json(), headers=auth(Role.ADMIN))
    again = await http.post("/codec/decode", json=encoded.json(), headers=auth(Role.ADMIN))
    assert again.json() == decoded.json()

    assert (await http.post("/codec/decode", json=request, headers=auth(Role.AGENT))).status_code == 403
    assert (await http.post("/codec/decode", json=request)).status_code == 401
    bad = await http.post("/codec/decode", json={"payloads": "nope"}, headers=auth(Role.ADMIN))
    assert bad.status_code == 400 and bad.json()["field"] == "payloads"


async def test_temporal_ui_may_call_the_codec_from_the_browser(http: httpx.AsyncClient) -> None:
    preflight = await http.options(
        "/codec/decode",
        headers={
            "Origin": "http://localhost:8233",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
        },
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:8233"
    other = await http.options(
        "/codec/decode", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert other.headers.get("access-control-allow-origin") != "https://evil.example"


async def _started(stack: Stack, appointment_id: str) -> tuple[Payload, Payload]:
    """The workflow's input (the appointment, its application's) and its summary (nobody's)."""
    raw = await Client.connect(stack.temporal.service_client.config.target_host)
    history = await raw.get_workflow_handle(workflow_id(appointment_id)).fetch_history()
    started = history.events[0]
    assert started.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    return (
        started.workflow_execution_started_event_attributes.input.payloads[0],
        started.user_metadata.summary,
    )


def _request(*payloads: Payload) -> dict:
    return json_format.MessageToDict(Payloads(payloads=payloads))


UI = {"Origin": "http://localhost:8233"}


async def test_the_codec_respects_tenants(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str
) -> None:
    created = (await http.post("/api/appointments", json=schedule_body(), headers=auth(Role.AGENT))).json()
    own, summary = await _started(stack, created["id"])
    assert summary.metadata["encoding"] == b"binary/encrypted"  # user metadata is encrypted too

    admin = auth(Role.ADMIN)
    assert (await http.post("/codec/decode", json=_request(own), headers=admin)).status_code == 200
    # An admin of another application decrypts none of this one's customers.
    other_admin = {**auth(Role.ADMIN, application_id=str(uuid.uuid4())), **UI}
    refused = await http.post("/codec/decode", json=_request(own), headers=other_admin)
    assert (
        refused.status_code == 403
        and "payloads[0] belongs to another application" in refused.json()["message"]
    )
    # ... and the browser may read why: the refusal carries the UI's CORS headers.
    assert refused.headers["access-control-allow-origin"] == UI["Origin"]
    # What belongs to no application is for platform operators only.
    nobody = await http.post("/codec/decode", json=_request(own, summary), headers=admin)
    assert nobody.status_code == 403 and "payloads[1] belongs to no application" in nobody.json()["message"]
    # An empty payload (None) holds nothing: anybody entitled to the codec may have it.
    empty = Payload(metadata={"encoding": b"binary/null"})
    assert (await http.post("/codec/decode", json=_request(empty), headers=admin)).status_code == 200

    operator = auth(Role.OPERATOR, application_id="")
    decoded = await http.post("/codec/decode", json=_request(own, summary), headers=operator)
    assert decoded.status_code == 200, decoded.text
    texts = [base64.b64decode(p["data"]).decode() for p in decoded.json()["payloads"]]
    assert application_id in texts[0]
    assert texts[1].startswith('"SCHEDULED') and "UTC" in texts[1]  # the summary an operator reads
    # Encoding respects tenants too: an admin encodes its own application's payloads only.
    plain = decoded.json()
    assert (await http.post("/codec/encode", json=plain, headers=other_admin)).status_code == 403
    assert (await http.post("/codec/encode", json=plain, headers=operator)).status_code == 200


async def test_a_401_carries_the_cors_headers_the_ui_needs(http: httpx.AsyncClient) -> None:
    refused = await http.post("/codec/decode", json={"payloads": []}, headers=UI)
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == UI["Origin"]
    assert refused.headers.get_list("access-control-allow-origin") == [UI["Origin"]]


async def test_only_the_development_stack_has_a_codec_without_token(http: httpx.AsyncClient) -> None:
    assert (await http.post("/codec/development/anything/decode", json={"payloads": []})).status_code == 404


async def test_the_development_ui_decodes_without_a_token_under_its_key(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, engine: AsyncEngine
) -> None:
    """What `make run` gives its own Temporal UI: a codec route under a key only that UI knows,
    acting as an operator; the stack refuses to start it anywhere but on loopback."""
    created = (await http.post("/api/appointments", json=schedule_body(), headers=auth(Role.AGENT))).json()
    own, summary = await _started(stack, created["id"])
    key = "k" * 43
    settings = session_settings(
        {
            "DATABASE_URL": stack.settings.database_url,
            "TEMPORAL_ADDRESS": stack.settings.temporal_address,
            "HTTP_PORT": str(free_port()),
            "CODEC_DEVELOPMENT_KEY": key,
        }
    )
    async with (
        running_service(stack.temporal, settings, engine, with_worker=False) as base_url,
        httpx.AsyncClient(base_url=base_url) as development,
    ):
        decoded = await development.post(
            f"/codec/development/{key}/decode", json=_request(own, summary), headers=UI
        )
        assert decoded.status_code == 200, decoded.text
        assert decoded.headers["access-control-allow-origin"] == UI["Origin"]
        wrong = await development.post(f"/codec/development/{'x' * 43}/decode", json=_request(own))
        assert wrong.status_code == 404
        schema = (await development.get("/schema/openapi.json")).json()
        assert not [path for path in schema["paths"] if "development" in path]
