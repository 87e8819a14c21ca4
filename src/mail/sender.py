"""One SMTP client configuration; every message goes through `SmtpSender.send`."""

from __future__ import annotations

import asyncio
import socket
from email.message import EmailMessage

import aiosmtplib

from config import Settings


class MailDeliveryError(Exception):
    """The SMTP server could not be reached or refused the message."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        # A 5xx reply will not change on retry; connection problems and 4xx replies may.
        self.permanent = permanent


class SmtpSender:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 15,
    ) -> None:
        self._host = host
        self._port = port
        self.sender = sender
        self._username = username
        self._password = password
        self._starttls = starttls
        self._timeout = timeout
        self._local_hostname: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSender:
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            sender=settings.mail_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )

    async def _ehlo_name(self) -> str:
        """This host's name for EHLO, looked up once: aiosmtplib would otherwise ask the resolver
        (`socket.getfqdn`, in a thread) on every connection."""
        if self._local_hostname is None:
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        return self._local_hostname

    async def send(self, message: EmailMessage) -> None:
        if "From" not in message:
            message["From"] = self.sender
        try:
            await aiosmtplib.send(
                message,
                hostname=self._host,
                local_hostname=await self._ehlo_name(),
                port=self._port,
                username=self._username,
                password=self._password,
                start_tls=self._starttls,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refusal.code for refusal in exc.recipients]
            details = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            raise MailDeliveryError(
                f"SMTP refused {details}", permanent=all(500 <= c < 600 for c in codes)
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise MailDeliveryError(
                f"SMTP {exc.code}: {exc.message}", permanent=500 <= exc.code < 600
            ) from exc
        except aiosmtplib.SMTPNotSupported as exc:
            # The message needs what the server does not offer (SMTPUTF8, ...): it never will.
            raise MailDeliveryError(f"SMTP server cannot take this message: {exc}", permanent=True) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise MailDeliveryError(f"SMTP unavailable: {exc}", permanent=False) from exc
        except (ValueError, TypeError) as exc:
            # The message cannot be written out as SMTP wants it: a fact of the message, not of the server.
            raise MailDeliveryError(f"message cannot be sent: {exc}", permanent=True) from exc
