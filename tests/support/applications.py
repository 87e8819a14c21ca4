"""An application's admin at work over HTTP: verifying the email service with the mailed code."""

from __future__ import annotations

import re

import httpx

from devstack.smtp_sink import SmtpSink


async def verify_email(
    http: httpx.AsyncClient, mail: SmtpSink, admin: dict[str, str], application_id: str, address: str
) -> None:
    """Verify `address` as the application's email service: request the code, read it, confirm it."""
    verify = await http.post(
        "/api/notifications/emails/verify",
        json={"applicationId": application_id, "toEmail": address},
        headers=admin,
    )
    assert verify.status_code == 204, verify.text
    mails = await mail.wait_for_messages(lambda m: address in str(m.message["To"]))
    code = re.search(r"\b(\d{6})\b", mails[-1].message.get_content())
    assert code
    confirm = await http.post(
        "/api/notifications/emails/confirm",
        json={"applicationId": application_id, "code": code.group(1)},
        headers=admin,
    )
    assert confirm.status_code == 204, confirm.text
