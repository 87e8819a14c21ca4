"""Customer self-scheduling: a one-time password mailed through real SMTP, then Basic auth."""

from __future__ import annotations

import base64
import re
import uuid

import httpx
import pytest
from sqlalchemy import text

from devstack.smtp_sink import StoredMessage
from domain import otp
from domain.access import Role
from tests.api.conftest import Stack, TokenFactory
from tests.support.requests import schedule_body


async def allow_self_scheduling(http: httpx.AsyncClient, auth: TokenFactory, application_id: str) -> None:
    response = await http.put(
        f"/api/applications/{application_id}/settings",
        json={"customerSelfScheduling": True},
        headers=auth(Role.ADMIN, application_id=application_id),
    )
    assert response.status_code == 200, response.text


@pytest.fixture(autouse=True)
async def self_scheduling(http: httpx.AsyncClient, auth: TokenFactory, application_id: str) -> None:
    """The test's application lets customers schedule themselves (off unless its admin says so)."""
    await allow_self_scheduling(http, auth, application_id)


def _basic(email: str, code: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{code}".encode()).decode()}


async def _request_code(http: httpx.AsyncClient, stack: Stack, application_id: str, email: str) -> str:
    response = await http.post(
        "/api/appointments/basic/otp", json={"applicationId": application_id, "email": email}
    )
    assert response.status_code == 204, response.text

    def to_email(message: StoredMessage) -> bool:
        return email.lower() in message.message["To"].lower()

    messages = await stack.mail.wait_for_messages(to_email)
    body = messages[-1].message.get_content()
    match = re.search(r"\b(\d{6})\b", body)
    assert match, body
    return match.group(1)


def _email() -> str:
    return f"customer-{uuid.uuid4().hex[:12]}@example.test"


async def test_a_customer_schedules_with_the_mailed_code(
    http: httpx.AsyncClient, stack: Stack, application_id: str
) -> None:
    email = _email()
    code = await _request_code(http, stack, application_id, email)
    body = schedule_body(applicationId=application_id)
    response = await http.post("/api/appointments/basic", json=body, headers=_basic(email.upper(), code))
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["organizer"]["type"] == "CUSTOMER"
    assert created["participantIds"] == [created["organizer"]]
    assert created["applicationId"] == application_id

    # The code was single use.
    again = await http.post("/api/appointments/basic/", json=body, headers=_basic(email, code))
    assert again.status_code == 401

    # The organizer's contact is the verified address, whatever the body said.
    async with stack.engine.connect() as conn:
        doc = (
            await conn.execute(
                text("SELECT doc FROM appointments WHERE id = :id"), {"id": uuid.UUID(created["id"])}
            )
        ).scalar_one()
    assert doc["participants"][0]["contact"]["primaryEmail"] == email


async def test_wrong_codes_lock_the_password_after_five_tries(
    http: httpx.AsyncClient, stack: Stack, application_id: str
) -> None:
    email = _email()
    code = await _request_code(http, stack, application_id, email)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    body = schedule_body(applicationId=application_id)
    for _ in range(otp.MAX_ATTEMPTS):
        response = await http.post("/api/appointments/basic", json=body, headers=_basic(email, wrong))
        assert response.status_code == 401
        assert response.json()["status"] == 401
    locked = await http.post("/api/appointments/basic", json=body, headers=_basic(email, code))
    assert locked.status_code == 401


async def test_an_expired_code_is_refused(http: httpx.AsyncClient, stack: Stack, application_id: str) -> None:
    email = _email()
    code = await _request_code(http, stack, application_id, email)
    async with stack.engine.begin() as conn:
        await conn.execute(
            text("UPDATE customer_otps SET expires_at = now() - interval '1 second' WHERE email = :email"),
            {"email": email},
        )
    body = schedule_body(applicationId=application_id)
    assert (
        await http.post("/api/appointments/basic", json=body, headers=_basic(email, code))
    ).status_code == 401


async def test_a_new_code_replaces_the_previous_one(
    http: httpx.AsyncClient, stack: Stack, application_id: str
) -> None:
    email = _email()
    first = await _request_code(http, stack, application_id, email)
    stack.mail.clear()
    second = await _request_code(http, stack, application_id, email)
    body = schedule_body(applicationId=application_id)
    if first != second:
        assert (
            await http.post("/api/appointments/basic", json=body, headers=_basic(email, first))
        ).status_code == 401
    assert (
        await http.post("/api/appointments/basic", json=body, headers=_basic(email, second))
    ).status_code == 200


async def test_code_of_another_application_does_not_work(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str
) -> None:
    email = _email()
    code = await _request_code(http, stack, application_id, email)
    other = str(uuid.uuid4())
    await allow_self_scheduling(http, auth, other)
    body = schedule_body(applicationId=other)
    assert (
        await http.post("/api/appointments/basic", json=body, headers=_basic(email, code))
    ).status_code == 401


@pytest.mark.parametrize("configured", [False, True], ids=["unknown application", "not allowed"])
async def test_only_applications_that_allow_it_mail_codes(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, configured: bool
) -> None:
    other = str(uuid.uuid4())
    if configured:
        put = await http.put(
            f"/api/applications/{other}/settings",
            json={"notificationsActive": True},
            headers=auth(Role.ADMIN, application_id=other),
        )
        assert put.status_code == 200
    email = _email()
    refused = await http.post("/api/appointments/basic/otp", json={"applicationId": other, "email": email})
    assert refused.status_code == 404 and refused.json()["field"] == "applicationId", refused.text
    # Both answers are alike: the refusal says nothing of how the application is configured.
    assert (
        refused.json()["message"] == "applicationId: no application with customer self-scheduling has this id"
    )
    assert not [m for m in stack.mail.messages() if email in str(m.message["To"])]
    scheduled = await http.post(
        "/api/appointments/basic", json=schedule_body(applicationId=other), headers=_basic(email, "123456")
    )
    assert scheduled.status_code == 404


@pytest.mark.parametrize(
    "header",
    [
        {},
        {"Authorization": "Bearer abc"},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
        {"Authorization": "Basic " + base64.b64encode(b"not-an-email:123456").decode()},
    ],
)
async def test_malformed_credentials_are_401(
    http: httpx.AsyncClient, application_id: str, header: dict[str, str]
) -> None:
    response = await http.post(
        "/api/appointments/basic", json=schedule_body(applicationId=application_id), headers=header
    )
    assert response.status_code == 401, response.text


async def test_otp_requests_validate_the_address(
    http: httpx.AsyncClient, stack: Stack, application_id: str
) -> None:
    for email in ("nope", "Ada <ada@example.test>", "a@example.test, b@example.test", '"a b"@example.test'):
        bad = await http.post(
            "/api/appointments/basic/otp", json={"applicationId": application_id, "email": email}
        )
        assert bad.status_code == 400 and bad.json()["field"] == "email", email
    missing = await http.post("/api/appointments/basic/otp", json={"email": _email()})
    assert missing.status_code == 400 and missing.json()["field"] == "applicationId"


async def test_a_401_challenges_with_basic(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    body = schedule_body(applicationId=application_id)
    # Without Basic credentials the request is challenged before its body is even read.
    for kwargs in (
        {"json": body},
        {"json": body, "headers": auth(Role.AGENT)},
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
        {"content": b"", "headers": {"content-type": "text/plain"}},
    ):
        response = await http.post("/api/appointments/basic", **kwargs)
        assert response.status_code == 401, (kwargs, response.text)
        assert response.headers["www-authenticate"].startswith("Basic "), kwargs
    documented = (await http.get("/schema/openapi.json")).json()["paths"]["/api/appointments/basic"]["post"]
    assert "www-authenticate" in {h.lower() for h in documented["responses"]["401"]["headers"]}


async def test_a_bad_schedule_does_not_spend_the_code(
    http: httpx.AsyncClient, stack: Stack, application_id: str
) -> None:
    email = _email()
    code = await _request_code(http, stack, application_id, email)
    bad = schedule_body(applicationId=application_id, timezone="Nowhere/Land")
    response = await http.post("/api/appointments/basic", json=bad, headers=_basic(email, code))
    assert response.status_code == 400 and response.json()["field"] == "timezone"
    good = schedule_body(applicationId=application_id)
    assert (
        await http.post("/api/appointments/basic", json=good, headers=_basic(email, code))
    ).status_code == 200


async def test_self_scheduling_is_bounded_like_any_scheduling(
    http: httpx.AsyncClient, stack: Stack, application_id: str
) -> None:
    """Customers need no account beyond a mailbox: what they send meets the same bounds, and a
    refused body does not spend the code."""
    email = _email()
    code = await _request_code(http, stack, application_id, email)
    for body, status, field in (
        (schedule_body(applicationId=application_id, start="9999-12-31T23:59:59Z"), 400, "start"),
        (schedule_body(applicationId=application_id, metadata={"x": "y" * 9000}), 413, "metadata"),
        (schedule_body(applicationId=application_id, title="a\u2028b"), 400, "title"),
    ):
        refused = await http.post("/api/appointments/basic", json=body, headers=_basic(email, code))
        assert refused.status_code == status and refused.json()["field"] == field, refused.text
    good = schedule_body(applicationId=application_id)
    assert (
        await http.post("/api/appointments/basic", json=good, headers=_basic(email, code))
    ).status_code == 200
