"""Email service verification: a code mailed through real SMTP, then confirmed."""

from __future__ import annotations

import re
import uuid

import httpx
from sqlalchemy import text

from devstack.smtp_sink import StoredMessage
from domain import otp
from domain.access import Role
from tests.api.conftest import Stack, TokenFactory

ADMIN = Role.ADMIN
VERIFY = "/api/notifications/emails/verify"
CONFIRM = "/api/notifications/emails/confirm"


def _email() -> str:
    return f"admin-{uuid.uuid4().hex[:12]}@example.test"


async def _request_code(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str, email: str
) -> str:
    before = len([m for m in stack.mail.messages() if email in m.message["To"]])
    response = await http.post(
        VERIFY, json={"applicationId": application_id, "toEmail": email}, headers=auth(ADMIN)
    )
    assert response.status_code == 204, response.text

    def to_email(message: StoredMessage) -> bool:
        return email in message.message["To"]

    messages = await stack.mail.wait_for_messages(to_email, count=before + 1)
    body = messages[-1].message.get_content()
    match = re.search(r"\b(\d{6})\b", body)
    assert match, body
    return match.group(1)


async def _confirm(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str, code: str
) -> httpx.Response:
    return await http.post(CONFIRM, json={"applicationId": application_id, "code": code}, headers=auth(ADMIN))


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def _verified(http: httpx.AsyncClient, auth: TokenFactory, application_id: str) -> dict:
    response = await http.get(f"/api/applications/{application_id}/settings", headers=auth(ADMIN))
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_mailed_code_verifies_the_email_service(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str
) -> None:
    email = _email()
    code = await _request_code(http, stack, auth, application_id, email)
    assert (await _verified(http, auth, application_id))["emailVerified"] is False

    confirmed = await _confirm(http, auth, application_id, code)
    assert confirmed.status_code == 204, confirmed.text
    assert confirmed.content == b""
    settings = await _verified(http, auth, application_id)
    assert settings["emailVerified"] is True
    assert settings["verifiedEmail"] == email

    # The code was single use.
    assert (await _confirm(http, auth, application_id, code)).status_code == 404

    # Saving settings afterwards keeps the verification.
    saved = await http.put(
        f"/api/applications/{application_id}/settings",
        json={"notificationsActive": True},
        headers=auth(ADMIN),
    )
    assert saved.status_code == 200 and saved.json()["emailVerified"] is True


async def test_a_wrong_code_is_400_and_the_right_one_still_works(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str
) -> None:
    code = await _request_code(http, stack, auth, application_id, _email())
    wrong = await _confirm(http, auth, application_id, _wrong(code))
    assert wrong.status_code == 400
    assert wrong.json()["field"] == "code"
    assert (await _confirm(http, auth, application_id, code)).status_code == 204


async def test_a_new_request_replaces_the_pending_code(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str
) -> None:
    email = _email()
    first = await _request_code(http, stack, auth, application_id, email)
    second = await _request_code(http, stack, auth, application_id, email)
    if first != second:
        assert (await _confirm(http, auth, application_id, first)).status_code == 400
    assert (await _confirm(http, auth, application_id, second)).status_code == 204


async def test_nothing_pending_is_404(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    response = await _confirm(http, auth, application_id, "063780")
    assert response.status_code == 404
    assert response.json()["status"] == 404


async def test_an_expired_code_is_404(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str
) -> None:
    code = await _request_code(http, stack, auth, application_id, _email())
    async with stack.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE email_verifications SET expires_at = now() - interval '1 second' "
                "WHERE application_id = :app"
            ),
            {"app": application_id},
        )
    assert (await _confirm(http, auth, application_id, code)).status_code == 404
    assert (await _verified(http, auth, application_id))["emailVerified"] is False


async def test_five_wrong_codes_drop_the_verification(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str
) -> None:
    code = await _request_code(http, stack, auth, application_id, _email())
    for _ in range(otp.MAX_ATTEMPTS):
        assert (await _confirm(http, auth, application_id, _wrong(code))).status_code == 400
    assert (await _confirm(http, auth, application_id, code)).status_code == 404
    assert (await _verified(http, auth, application_id))["emailVerified"] is False


async def test_admins_of_the_application_only(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    body = {"applicationId": application_id, "toEmail": _email()}
    for role in (Role.AGENT, Role.SUPERVISOR, Role.CLIENT_SERVICE, Role.CUSTOMER):
        assert (await http.post(VERIFY, json=body, headers=auth(role))).status_code == 403
        confirm = {"applicationId": application_id, "code": "123456"}
        assert (await http.post(CONFIRM, json=confirm, headers=auth(role))).status_code == 403
    other = {"applicationId": str(uuid.uuid4()), "toEmail": _email()}
    assert (await http.post(VERIFY, json=other, headers=auth(ADMIN))).status_code == 403
    assert (await http.post(VERIFY, json=body)).status_code == 401


async def test_a_bad_address_or_missing_field_is_400(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    bad = await http.post(
        VERIFY, json={"applicationId": application_id, "toEmail": "nobody"}, headers=auth(ADMIN)
    )
    assert bad.status_code == 400 and bad.json()["field"] == "toEmail"
    missing = await http.post(CONFIRM, json={"applicationId": application_id}, headers=auth(ADMIN))
    assert missing.status_code == 400 and missing.json()["field"] == "code"
