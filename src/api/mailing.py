"""Mail the API sends itself (one-time codes, test emails), with SMTP errors mapped to answers."""

from __future__ import annotations

import logging

from api.errors import ServiceUnavailable
from domain import otp
from domain.errors import invalid
from mail import mime
from mail.sender import MailDeliveryError, SmtpSender

log = logging.getLogger("api.mailing")


def code_message(mailer: SmtpSender, to: str, subject: str, purpose: str, code: str) -> mime.Mail:
    """A one-time code from the service's own sender: `purpose` completes "Your code to ... is 123456"."""
    minutes = int(otp.TTL.total_seconds() // 60)
    body = mime.text(
        "plain",
        f"Your code to {purpose} is {code}.\n\n"
        f"It is valid for {minutes} minutes and can be used once.\n"
        "If you did not ask for it, ignore this email.\n",
    )
    return mime.mail(mailer.sender, to, [mime.header("Subject", f"{subject}: {code}")], body)


async def send_or_raise(mailer: SmtpSender, message: mime.Mail, field: str) -> None:
    """Send now; a refused address is the client's 400, an unreachable server a 503."""
    try:
        await mailer.send(message)
    except MailDeliveryError as exc:
        log.warning("email to %s not delivered: %s", ", ".join(message.recipients), exc)
        if exc.permanent:
            raise invalid(field, f"{field}: the mail server refused this address ({exc})") from None
        raise ServiceUnavailable("the mail server is unavailable; try again later") from None
