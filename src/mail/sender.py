"""One SMTP client configuration; every message goes through `SmtpSender.send`.

Each send is a client span `smtp send` (config.tracing) naming the SMTP server and, on failure,
whether it was permanent: never a recipient, a subject or a body.

Connections are kept for the next message rather than opened for each: a connection costs a TCP
handshake, the server's greeting, EHLO, STARTTLS's TLS handshake and a login, several times the
message itself when reminders fall due together (docs/BENCHMARKS.md). A kept connection is used
for at most `MAX_MESSAGES_PER_CONNECTION` messages and never after `MAX_IDLE` of silence, below
what servers allow (RFC 5321 asks them to wait 5 minutes); one the server dropped anyway is
replaced and the message sent once more on a new connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from dataclasses import dataclass

import aiosmtplib
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.semconv.attributes.server_attributes import SERVER_ADDRESS, SERVER_PORT
from opentelemetry.trace import SpanKind, Status, StatusCode

from config import Settings
from config.tracing import tracer
from mail.mime import Mail


class MailDeliveryError(Exception):
    """The SMTP server could not be reached or refused the message."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        # A 5xx reply will not change on retry; connection problems and 4xx replies may.
        self.permanent = permanent


# Kept connections, at most; more are opened when more messages go out at once.
MAX_KEPT_CONNECTIONS = 8
MAX_MESSAGES_PER_CONNECTION = 100
MAX_IDLE = 30.0  # seconds
# The server's reply when it closes a connection (an idle timeout, too many messages).
_CLOSING = 421


@dataclass
class _Connection:
    client: aiosmtplib.SMTP
    loop: asyncio.AbstractEventLoop
    sent: int = 0
    idle_since: float = 0.0

    def reusable(self) -> bool:
        return (
            self.client.is_connected
            and self.loop is asyncio.get_running_loop()
            and self.sent < MAX_MESSAGES_PER_CONNECTION
            and time.monotonic() - self.idle_since < MAX_IDLE
        )


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
        self._kept: list[_Connection] = []

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

    async def send(self, message: Mail) -> None:
        with tracer.start_as_current_span(
            "smtp send",
            kind=SpanKind.CLIENT,
            attributes={SERVER_ADDRESS: self._host, SERVER_PORT: self._port},
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                await self._send(message)
            except MailDeliveryError as error:
                # The error's text may quote addresses: the span keeps only its kind.
                span.set_attribute(ERROR_TYPE, "permanent" if error.permanent else "transient")
                span.set_status(Status(StatusCode.ERROR))
                raise

    async def _connect(self) -> _Connection:
        client = aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            local_hostname=await self._ehlo_name(),
            username=self._username,
            password=self._password,
            start_tls=self._starttls,
            timeout=self._timeout,
        )
        await client.connect()
        return _Connection(client, asyncio.get_running_loop())

    def _kept_connection(self) -> _Connection | None:
        while self._kept:
            connection = self._kept.pop()
            if connection.reusable():
                return connection
            _drop(connection)
        return None

    def _keep(self, connection: _Connection) -> None:
        connection.sent += 1
        connection.idle_since = time.monotonic()
        if len(self._kept) < MAX_KEPT_CONNECTIONS and connection.reusable():
            self._kept.append(connection)
        else:
            _drop(connection)

    async def _deliver(self, message: Mail) -> None:
        """On a kept connection if there is one; on a new one if there is none, or if the kept one
        turns out to have been closed by the server."""
        kept = self._kept_connection()
        if kept is not None:
            try:
                await self._send_on(kept, message)
                return
            except aiosmtplib.SMTPResponseException as error:
                if error.code != _CLOSING:
                    raise
            except aiosmtplib.SMTPServerDisconnected:
                pass
        await self._send_on(await self._connect(), message)

    async def _send_on(self, connection: _Connection, message: Mail) -> None:
        """Kept again only after a message it fully sent."""
        try:
            await connection.client.sendmail(
                message.envelope_from,
                message.recipients,
                message.content,
                mail_options=["SMTPUTF8"] if message.smtputf8 else [],
            )
        except BaseException:
            _drop(connection)
            raise
        self._keep(connection)

    async def _send(self, message: Mail) -> None:
        try:
            await self._deliver(message)
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


def _drop(connection: _Connection) -> None:
    """Closed without a QUIT: a connection dropped is one that failed or is of no more use."""
    # A connection of an event loop that has closed since has nothing left to close.
    with contextlib.suppress(RuntimeError):
        connection.client.close()
