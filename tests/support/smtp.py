"""A real SMTP server (aiosmtpd) that refuses every recipient, for the tests of mail failures."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from devstack.net import free_port


class RefusingSmtp:
    """Answers every RCPT with `code`: a 5xx refuses for good, a 4xx for now."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.attempts = 0

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        self.attempts += 1
        return self.code


@contextlib.contextmanager
def refusing_smtp_server(code: str) -> Iterator[tuple[int, RefusingSmtp]]:
    """The port of a server on loopback that refuses with `code`, and its handler."""
    handler = RefusingSmtp(code)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()
