"""Email addresses as the service takes them: one plain address, and the mailbox behind it.

Every email field (a customer's `primaryEmail`, `toEmail`, `mailFrom`, the address of a one-time
password) holds exactly one address in its plainest form, `local@domain`: no display name, no
list, no comment, no quoted local part, no IP literal, ASCII only (a domain in IDNA form,
`xn--...`, is ASCII). Anything else is a 400 naming the field: those forms exist to hide a second
recipient, or to spell one mailbox in ways a limit keyed on the text would count apart.

`mailbox` goes further, for limits only: the same mailbox however its address is spelled (case,
sub-addresses `+tag`, dots in a Gmail local part).
"""

from __future__ import annotations

import re

from domain.errors import invalid, shown

MAX_ADDRESS_LENGTH = 254
MAX_LOCAL_LENGTH = 64

# RFC 5322 dot-atom: atext runs separated by single dots.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LOCAL = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*")
# Host names of letters, digits and inner hyphens; a top-level label that is a word or IDNA.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"(?:{_LABEL}\.)+(?:[A-Za-z]{{2,63}}|xn--[A-Za-z0-9-]{{1,59}})")
# Providers that ignore dots in the local part, and their aliases.
_DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def parse_address(field: str, raw: str) -> str:
    """`raw` as one plain address, lower-cased; surrounding whitespace is dropped."""
    address = raw.strip(" \t")
    local, at, domain = address.rpartition("@")
    if (
        not at
        or len(address) > MAX_ADDRESS_LENGTH
        or len(local) > MAX_LOCAL_LENGTH
        or not _LOCAL.fullmatch(local)
        or not _DOMAIN.fullmatch(domain)
    ):
        raise invalid(field, f"{field}: {shown(raw)} is not one plain email address such as ada@example.com")
    return address.lower()


def mailbox(address: str) -> str:
    """The mailbox a parsed address delivers to, for counting.

    `Ada.L+x@GoogleMail.com` is `adal@gmail.com`.
    """
    local, _, domain = address.lower().rpartition("@")
    local = local.split("+", 1)[0] or local
    domain = _DOTLESS_DOMAINS.get(domain, domain)
    if domain == "gmail.com":
        local = local.replace(".", "")
    return f"{local}@{domain}"


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()
