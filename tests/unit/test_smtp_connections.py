"""The sender keeps its SMTP connections for the next messages, against a real aiosmtpd server
that notes which connection each message came on."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from devstack.net import LOCALHOST, free_port
from mail import mime
from mail.sender import MAX_KEPT_CONNECTIONS, MAX_MESSAGES_PER_CONNECTION, SmtpSender


class Recorder:
    """Each message's subject with the client's address and port: one port, one connection."""

    def __init__(self) -> None:
        self.received: list[tuple[str, tuple[str, int]]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        subject = next(
            line.split(":", 1)[1].strip()
            for line in envelope.content.decode().splitlines()  # type: ignore[union-attr]
            if line.startswith("Subject:")
        )
        self.received.append((subject, session.peer))
        return "250 OK"

    def subjects(self) -> list[str]:
        return [subject for subject, _ in self.received]

    def connections(self) -> set[tuple[str, int]]:
        return {peer for _, peer in self.received}


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def recorder(port: int) -> Iterator[Recorder]:
    recorder = Recorder()
    controller = Controller(recorder, hostname=LOCALHOST, port=port)
    controller.start()
    try:
        yield recorder
    finally:
        controller.stop()


def _message(subject: str) -> mime.Mail:
    headers = [mime.header("Subject", subject)]
    return mime.mail(
        "appointments@example.com", "ada@example.com", headers, mime.text("plain", "See you soon.\n")
    )


def _sender(port: int) -> SmtpSender:
    return SmtpSender(LOCALHOST, port, sender="appointments@example.com")


async def test_messages_one_after_another_share_one_connection(recorder: Recorder, port: int) -> None:
    sender = _sender(port)
    for n in range(3):
        await sender.send(_message(f"message {n}"))

    assert recorder.subjects() == ["message 0", "message 1", "message 2"]
    assert len(recorder.connections()) == 1


async def test_a_connection_carries_a_bounded_number_of_messages(recorder: Recorder, port: int) -> None:
    sender = _sender(port)
    for n in range(MAX_MESSAGES_PER_CONNECTION + 1):
        await sender.send(_message(f"message {n}"))

    assert len(recorder.subjects()) == MAX_MESSAGES_PER_CONNECTION + 1
    assert len(recorder.connections()) == 2


async def test_messages_at_once_each_arrive_once_and_few_connections_are_kept(
    recorder: Recorder, port: int
) -> None:
    sender = _sender(port)
    subjects = [f"burst {n}" for n in range(3 * MAX_KEPT_CONNECTIONS)]
    await asyncio.gather(*(sender.send(_message(s)) for s in subjects))
    await asyncio.gather(*(sender.send(_message(f"again {s}")) for s in subjects))

    assert sorted(recorder.subjects()) == sorted([*subjects, *(f"again {s}" for s in subjects)])
    # The first burst opened one connection per message and kept some; the second reused those
    # and opened the rest.
    assert len(recorder.connections()) == 3 * MAX_KEPT_CONNECTIONS + 2 * MAX_KEPT_CONNECTIONS


async def test_a_connection_the_server_dropped_is_replaced_and_the_message_sent_once(port: int) -> None:
    sender = _sender(port)
    first, second = Recorder(), Recorder()
    controller = Controller(first, hostname=LOCALHOST, port=port)
    controller.start()
    await sender.send(_message("before"))
    controller.stop()  # the server goes away, and with it the kept connection
    controller = Controller(second, hostname=LOCALHOST, port=port)
    controller.start()
    try:
        await sender.send(_message("after"))
    finally:
        controller.stop()

    assert first.subjects() == ["before"]
    assert second.subjects() == ["after"]
