"""Messages written out directly read back, with the standard library's parser, as what was put in."""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import cast

import pytest

from domain.text import LINE_BREAKS
from mail import mime

STRANGE = [
    "Zoë 🙂",
    "שלום עולם",
    "e\u0301",
    "日本語" * 40,
    "a\x01b\x7fc",
    "=?utf-8?q?not_an_encoded_word?=",
    "x" * 300,
    "y" * 1200,
    " padded  twice ",
    'semi; colon, "quotes" <angles>',
]


def _parsed(content: bytes) -> EmailMessage:
    return cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(content))


def _wire_rules(content: bytes) -> None:
    """7-bit clean without controls but tab, CRLF line ends only, no line over SMTP's 998 octets."""
    assert content.isascii()
    assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", content)
    assert b"\r\n" in content and b"\n" not in content.replace(b"\r\n", b"")
    assert b"\r" not in content.replace(b"\r\n", b"")
    assert max(len(line) for line in content.split(b"\r\n")) <= 998


@pytest.mark.parametrize("value", STRANGE)
def test_a_header_reads_back_as_it_was_set(value: str) -> None:
    content = mime.message([mime.header("Subject", value)], mime.text("plain", "body"))
    _wire_rules(content)
    message = _parsed(content)
    assert not message.defects
    # Controls, surrounding spaces and over-long lines are carried in encoded words.
    assert str(message["Subject"]) == value


@pytest.mark.parametrize("char", list(LINE_BREAKS))
def test_every_line_break_the_email_package_refuses_is_refused_in_a_header(char: str) -> None:
    with pytest.raises(ValueError, match="line break"):
        mime.header("Subject", f"a{char}b")
    with pytest.raises(ValueError, match="line break"):
        mime.address("From", f"Ada{char}Bcc: eve@example.com <ada@example.com>")


@pytest.mark.parametrize("name", ["Zoë Ünïcode", "Lovelace, Ada", 'Ada "the" Countess', ""])
def test_an_address_header_keeps_its_display_name_and_gives_the_plain_address(name: str) -> None:
    mailbox = f"{name} <ada@example.com>" if name else "ada@example.com"
    if "," in name or '"' in name:
        mailbox = f'"{name.replace(chr(34), chr(92) + chr(34))}" <ada@example.com>'
    mail = mime.mail(mailbox, "bob@example.com", [], mime.text("plain", "x"))
    assert (mail.envelope_from, mail.recipients) == ("ada@example.com", ("bob@example.com",))
    _wire_rules(mail.content)
    message = _parsed(mail.content)
    assert message["From"].addresses[0].display_name == name
    assert message["From"].addresses[0].addr_spec == "ada@example.com"


@pytest.mark.parametrize("mailbox", ["", "not an address", "Ada <>"])
def test_an_address_header_refuses_what_is_no_address(mailbox: str) -> None:
    with pytest.raises(ValueError):
        mime.mail("ada@example.com", mailbox, [], mime.text("plain", "x"))


def test_only_a_message_to_or_from_a_non_ascii_address_needs_smtputf8() -> None:
    to_zoe = mime.mail("cc@example.test", "zoë@example.test", [], mime.text("plain", "Zoë"))
    # Its To header carries the address as it is, in UTF-8: what SMTPUTF8 lets a server take.
    assert to_zoe.smtputf8 and "\r\nTo: zoë@example.test\r\n".encode() in to_zoe.content
    assert not mime.mail("cc@example.test", "ada@example.test", [], mime.text("plain", "Zoë")).smtputf8


@pytest.mark.parametrize(
    "body",
    [
        "See you at 10:00.\n",
        "Bis bald, Zoë 🙂\r\nLine two\rLine three",
        "a" * 2000,
        "trailing spaces   \nand tabs\t\n",
        "--=_ a line that looks like a boundary\n.\n..\n",
        "=3D is not an escape here = and =\n",
        "a NUL \x00, a form feed \x0c, an escape \x1b and DEL \x7f\n",
    ],
)
def test_a_text_body_reads_back_as_written_with_normalised_line_ends(body: str) -> None:
    content = mime.message([], mime.text("plain", body))
    _wire_rules(content)
    expected = body.replace("\r\n", "\n").replace("\r", "\n")
    read = _parsed(content).get_content().replace("\r\n", "\n")
    assert read == (expected if expected.endswith("\n") else expected + "\n")


def test_parts_nest_and_an_attachment_keeps_its_bytes_and_name() -> None:
    invite = b"BEGIN:VCALENDAR\r\nSUMMARY:Zo\xc3\xab\r\nEND:VCALENDAR\r\n" * 50
    root = mime.multipart(
        "mixed",
        [
            mime.multipart("alternative", [mime.text("plain", "hi"), mime.text("html", "<p>hi</p>")]),
            mime.attachment(invite, 'text/calendar; method="REQUEST"', "invite.ics"),
        ],
    )
    content = mime.message([mime.header("Subject", "s")], root)
    _wire_rules(content)
    message = _parsed(content)
    assert [part.get_content_type() for part in message.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
    ]
    body = message.get_body(("html",))
    assert body is not None and body.get_content() == "<p>hi</p>\r\n"
    attachment = next(iter(message.iter_attachments()))
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_param("method") == "REQUEST"
    assert attachment.get_payload(decode=True) == invite
    assert all(not part.defects for part in message.walk())


def test_every_message_says_when_it_was_written() -> None:
    message = _parsed(mime.message([mime.header("Subject", "s")], mime.text("plain", "x")))
    assert message["Date"].datetime is not None and message["MIME-Version"] == "1.0"
