"""No personal data in clear in Temporal; the codec endpoint decrypts for admins only."""

from __future__ import annotations

import base64

import httpx
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from domain.access import Role
from tests.api.conftest import Stack, TokenFactory
from tests.support.requests import schedule_body
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
