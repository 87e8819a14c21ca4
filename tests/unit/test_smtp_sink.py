"""The development SMTP sink: a real aiosmtpd server, real SMTP from the stdlib client."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from devstack.smtp_sink import SmtpSink, read_messages


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[SmtpSink]:
    with SmtpSink(tmp_path / "mail", port=0) as sink:
        yield sink


def _message(subject: str, to: str = "ada@example.com") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "appointments@example.com"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("See you soon.\n")
    message.add_attachment(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
        maintype="text",
        subtype="calendar",
        filename="invite.ics",
    )
    return message


def test_each_message_is_stored_as_an_eml_file(sink: SmtpSink) -> None:
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as client:
        client.send_message(_message("Your appointment, Grüße"))

    files = sorted(sink.directory.iterdir())
    assert [f.suffix for f in files] == [".eml"]  # no temp file left behind
    [stored] = read_messages(sink.directory)
    assert stored.path == files[0]
    assert stored.subject == "Your appointment, Grüße"
    assert stored.mail_from == "appointments@example.com"
    assert stored.rcpt_tos == ("ada@example.com",)
    assert [part.get_filename() for part in stored.message.iter_attachments()] == ["invite.ics"]


async def test_messages_are_kept_in_arrival_order_with_their_envelope(sink: SmtpSink) -> None:
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as client:
        client.login("user", "any password")  # credentials meant for a real server are accepted
        for n in range(3):
            client.send_message(_message(f"message {n}"), to_addrs=["ada@example.com", "bcc@example.com"])

    stored = await sink.wait_for_messages(lambda m: "bcc@example.com" in m.rcpt_tos, count=3, timeout=5)

    assert [m.subject for m in stored] == ["message 0", "message 1", "message 2"]
    assert len({m.path.name for m in stored}) == 3
    assert all(m.message["To"] == "ada@example.com" for m in stored)


async def test_waiting_for_a_message_that_never_comes_times_out(sink: SmtpSink) -> None:
    with pytest.raises(TimeoutError):
        await sink.wait_for_messages(timeout=0.2)


def test_clear_removes_stored_messages(sink: SmtpSink) -> None:
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as client:
        client.send_message(_message("to be cleared"))

    sink.clear()

    assert sink.messages() == []


def test_a_mail_under_way_is_told_apart_from_a_kept_connection(sink: SmtpSink) -> None:
    client = smtplib.SMTP(sink.host, sink.port, timeout=10)
    client.ehlo()
    port = client.sock.getsockname()[1]
    assert sink.in_transaction() == set()  # connected, no mail yet

    client.mail("appointments@example.com")
    assert [peer_port for _, peer_port in sink.in_transaction()] == [port]
    client.rcpt("ada@example.com")
    client.data(_message("Under way").as_bytes())
    assert sink.in_transaction() == set()  # stored; the connection is still open

    client.mail("appointments@example.com")
    client.rset()
    assert sink.in_transaction() == set()
    client.quit()
