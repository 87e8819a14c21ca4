"""Email messages written out directly as the bytes SMTP carries.

The standard library's `EmailMessage` parses every header into a tree as it is set and folds it
again when written out; for the service's few fixed shapes of message that was most of the
worker's CPU in a minute of reminders (docs/BENCHMARKS.md, timers). Here a message is built as
its text: headers in RFC 2047 encoded words where they are not ASCII, bodies quoted-printable
where they are not short ASCII lines, attachments base64, so that what is written is 7-bit clean
and needs neither 8BITMIME nor SMTPUTF8 of the server, unless an address is not ASCII.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr

from domain.text import has_line_break

CRLF = "\r\n"
# RFC 5322's recommended line length, also the longest line a body is sent unencoded in.
MAX_LINE = 78
# The longest line SMTP carries, without its CRLF (RFC 5321).
MAX_SMTP_LINE = 998
# Characters a 7bit body may not hold as they are: every control but tab and line feed.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Part:
    """One MIME entity: its Content-* headers and its encoded body (CRLF line ends)."""

    headers: tuple[tuple[str, str], ...]
    body: str


@dataclass(frozen=True)
class Mail:
    """A message ready for SMTP: the envelope and the content as it goes on the wire."""

    envelope_from: str
    recipients: tuple[str, ...]
    content: bytes

    @property
    def smtputf8(self) -> bool:
        """An address is not ASCII (one stored before addresses were checked): only a server that
        offers SMTPUTF8 takes the message, its address headers as they are."""
        return not "".join((self.envelope_from, *self.recipients)).isascii()


def header(name: str, value: str) -> str:
    """`Name: value`, as it is if it is printable ASCII that a reader takes as it is (no encoded
    word, no surrounding space, within SMTP's line length), in folded encoded words if not;
    raises ValueError for a value with a line break (as the `email` package does), which could
    start a header of its own."""
    _one_line(name, value)
    line = f"{name}: {value}"
    if (
        value.isascii()
        and value.isprintable()
        and "=?" not in value
        and value == value.strip()
        and len(line) <= MAX_SMTP_LINE
    ):
        return line
    return f"{name}: {Header(value, 'utf-8', header_name=name).encode(linesep=CRLF)}"


def address(name: str, mailbox: str) -> tuple[str, str]:
    """The display name and the plain address of `Name <address>` or `address`; raises ValueError
    for a mailbox with no address or a line break."""
    _one_line(name, mailbox)
    display_name, plain = parseaddr(mailbox)
    if "@" not in plain:
        raise ValueError(f"{mailbox!r} is not an address the {name} header can carry")
    return display_name, plain


def mail(sender: str, to: str, headers: list[str], root: Part) -> Mail:
    """A message from `sender` to `to` (mailboxes), its envelope their plain addresses, with
    `headers` after From and To."""
    (from_name, from_address), (to_name, to_address) = address("From", sender), address("To", to)
    lines = [_address_line("From", from_name, from_address), _address_line("To", to_name, to_address)]
    return Mail(from_address, (to_address,), message([*lines, *headers], root))


def text(subtype: str, content: str) -> Part:
    """text/`subtype` in UTF-8: as it is if it is printable ASCII in short lines, quoted-printable
    if not (a control character, such as a text stored before text was checked may hold, is not
    7bit data)."""
    lines = content.replace("\r\n", "\n").replace("\r", "\n")
    if not lines.endswith("\n"):
        lines += "\n"
    if (
        lines.isascii()
        and _CONTROL.search(lines) is None
        and max(len(line) for line in lines.split("\n")) <= MAX_LINE
    ):
        encoding, body = "7bit", lines
    else:
        encoding = "quoted-printable"
        body = binascii.b2a_qp(lines.encode(), istext=True).decode("ascii")
    return Part(
        (("Content-Type", f'text/{subtype}; charset="utf-8"'), ("Content-Transfer-Encoding", encoding)),
        body.replace("\n", CRLF),
    )


def attachment(content: bytes, content_type: str, filename: str) -> Part:
    """`content` base64-encoded, to be saved as `filename` (a plain ASCII name)."""
    return Part(
        (
            ("Content-Type", content_type),
            ("Content-Transfer-Encoding", "base64"),
            ("Content-Disposition", f'attachment; filename="{filename}"'),
        ),
        base64.encodebytes(content).decode("ascii").replace("\n", CRLF),
    )


def multipart(subtype: str, parts: list[Part]) -> Part:
    """The parts in order, between boundaries no body holds: random, so not known to whoever
    wrote the text of a template or an appointment."""
    boundary = f"=_{secrets.token_hex(16)}"
    body = "".join(f"--{boundary}{CRLF}{_entity(part)}{CRLF}" for part in parts)
    content_type = f'multipart/{subtype}; boundary="{boundary}"'
    return Part((("Content-Type", content_type),), f"{body}--{boundary}--{CRLF}")


def message(headers: list[str], root: Part) -> bytes:
    """The whole message: `headers` (lines from `header`), the date it is written, then the root
    entity's."""
    date = f"Date: {format_datetime(datetime.now(UTC))}"
    head = "".join(f"{line}{CRLF}" for line in [*headers, date, "MIME-Version: 1.0"])
    return (head + _entity(root)).encode()


def _address_line(name: str, display_name: str, plain: str) -> str:
    """The display name encoded or quoted as it needs; a non-ASCII address (see `Mail.smtputf8`)
    goes as it is, alone."""
    if not plain.isascii():
        return f"{name}: {plain}"
    return f"{name}: {formataddr((display_name, plain), charset='utf-8')}"


def _one_line(name: str, value: str) -> None:
    if has_line_break(value):
        raise ValueError(f"the {name} header holds a line break")


def _entity(part: Part) -> str:
    return "".join(f"{name}: {value}{CRLF}" for name, value in part.headers) + CRLF + part.body
