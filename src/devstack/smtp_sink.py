"""A local SMTP server that accepts every message and keeps it on disk as an `.eml` file.

`make run` starts it in-process; tests start their own on a free port and read the messages
back with `SmtpSink.messages()` / `wait_for_messages()`. Standalone: `python -m devstack.smtp_sink`.

File names sort by arrival (UTC timestamp, then a per-sink sequence number) and are unique across
processes (random suffix). A message is written to a hidden temp file and renamed, so a reader
never sees half a message. Two headers record the SMTP envelope, which the message headers alone
do not carry (Bcc): `X-Envelope-From` and `X-Envelope-To`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import os
import secrets
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import FrameType
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from config.settings import Settings
from devstack.lifecycle import StartStop
from devstack.net import LOCALHOST, free_port

log = logging.getLogger("devstack.smtp")

# aiosmtpd logs every SMTP command at INFO, and a deprecation warning of its own on every AUTH.
logging.getLogger("mail.log").setLevel(logging.ERROR)


@dataclass(frozen=True, slots=True)
class StoredMessage:
    path: Path
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))


def read_message(path: Path) -> StoredMessage:
    message = cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(path.read_bytes()))
    rcpt_tos = str(message.get("X-Envelope-To", ""))
    return StoredMessage(
        path=path,
        mail_from=str(message.get("X-Envelope-From", "")).strip("<>"),
        rcpt_tos=tuple(r.strip() for r in rcpt_tos.split(",") if r.strip()),
        message=message,
    )


def read_messages(directory: Path) -> list[StoredMessage]:
    """Every stored message in `directory`, oldest first."""
    if not directory.is_dir():
        return []
    return [read_message(p) for p in sorted(directory.glob("[!.]*.eml"))]


class _MailDirHandler:
    """aiosmtpd handler: one atomically written `.eml` file per accepted message."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._sequence = itertools.count(1)
        # The sessions between their MAIL command and the end of that mail, with their connection:
        # a client keeps its connection between mails, so a connection alone does not say one is
        # under way. The sink serves from its own thread; `under_way` is read from the caller's.
        self._under_way: dict[Session, SMTP] = {}
        self._lock = threading.Lock()

    def under_way(self) -> set[tuple[str, int]]:
        with self._lock:
            self._forget_closed()
            return {session.peer for session in self._under_way}

    def _forget_closed(self) -> None:
        """A client that went away mid-mail, once aiosmtpd has closed its connection (at the
        latest after the server's idle timeout): what is kept is bounded by the connections."""
        for session, server in list(self._under_way.items()):
            if server.transport is None:
                del self._under_way[session]

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        with self._lock:
            self._forget_closed()
            self._under_way[session] = server
        return "250 OK"

    async def handle_RSET(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self._ended(session)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        try:
            return self._store(envelope)
        finally:
            self._ended(session)

    def _ended(self, session: Session) -> None:
        with self._lock:
            self._under_way.pop(session, None)

    def _store(self, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        envelope_headers = (
            f"X-Envelope-From: <{envelope.mail_from or ''}>\r\n"
            f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        path = self._write(envelope_headers + content)
        recipients = ", ".join(envelope.rcpt_tos)
        log.info("mail from %s to %s stored as %s", envelope.mail_from, recipients, path.name)
        return "250 Message accepted for delivery"

    def _write(self, data: bytes) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        name = f"{stamp}-{next(self._sequence):06d}-{secrets.token_hex(3)}.eml"
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.directory / name
        temporary = self.directory / f".{name}.tmp"
        with temporary.open("wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, final)
        return final


def _accept_any_login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    # A sink: credentials configured for a real mail server must not make sending fail here.
    return AuthResult(success=True)


class SmtpSink(StartStop):
    """The SMTP sink, served from a background thread (usable from sync and async code)."""

    def __init__(self, directory: Path, port: int = 1025, host: str = LOCALHOST) -> None:
        self.directory = Path(directory).resolve()
        self.host = host
        self.port = port
        self._controller: Controller | None = None
        self._handler = _MailDirHandler(self.directory)

    def start(self) -> None:
        if self.port == 0:
            self.port = free_port(self.host)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(
            self._handler,
            hostname=self.host,
            port=self.port,
            ready_timeout=10.0,
            enable_SMTPUTF8=True,
            authenticator=_accept_any_login,
            auth_require_tls=False,
        )
        self._controller.start()
        log.info("smtp sink on %s:%s, mail in %s", self.host, self.port, self.directory)

    def in_transaction(self) -> set[tuple[str, int]]:
        """The clients with a mail under way: its MAIL command taken, the mail not yet stored."""
        return self._handler.under_way()

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()
            log.info("smtp sink stopped")

    def messages(self) -> list[StoredMessage]:
        return read_messages(self.directory)

    def clear(self) -> None:
        for path in self.directory.glob("*.eml"):
            path.unlink(missing_ok=True)

    async def wait_for_messages(
        self,
        predicate: Callable[[StoredMessage], bool] | None = None,
        *,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - a polling deadline, not a cancellation scope
    ) -> list[StoredMessage]:
        """The stored messages matching `predicate`, once there are at least `count` of them."""
        deadline = time.monotonic() + timeout
        while True:
            matching = [m for m in self.messages() if predicate is None or predicate(m)]
            if len(matching) >= count:
                return matching
            if time.monotonic() >= deadline:
                subjects = [m.subject for m in self.messages()]
                raise TimeoutError(
                    f"{len(matching)} of {count} expected messages after {timeout} s; stored: {subjects}"
                )
            await asyncio.sleep(0.05)


def main(argv: list[str] | None = None) -> None:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(prog="python -m devstack.smtp_sink", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=LOCALHOST)
    parser.add_argument("--port", type=int, default=settings.smtp_port, help="default: $SMTP_PORT or 1025")
    parser.add_argument("--dir", type=Path, default=settings.mail_dir, help="default: $DATA_DIR/mail")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")

    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    with SmtpSink(args.dir, port=args.port, host=args.host):
        stopping.wait()


if __name__ == "__main__":
    main()
