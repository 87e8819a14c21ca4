"""What a text field may contain: the rule for one-line and for multi-line text, in one place.

A one-line value (a title, a name, an address, a locale, a time zone, an id, a map key) may end
up in an email header, a calendar property or a log line. It refuses every control character
(C0, C1, DEL) and every character `str.splitlines` breaks a line at, which is exactly what
Python's email package refuses in a header: U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR
besides the controls. A multi-line value (notes, template bodies, the string values of metadata)
may also hold tab, line feed and carriage return.
"""

from __future__ import annotations

import re

# Every character `str.splitlines` splits at (tests/unit/test_text.py checks the whole of Unicode).
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
ONE_LINE_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MULTI_LINE_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAK = re.compile(f"[{re.escape(LINE_BREAKS)}]+")


def is_one_line(value: str) -> bool:
    return ONE_LINE_FORBIDDEN.search(value) is None


def is_multi_line(value: str) -> bool:
    return MULTI_LINE_FORBIDDEN.search(value) is None


def one_line(value: str) -> str:
    """`value` with every run of line breaks made one space: for a header rendered from a template."""
    return _LINE_BREAK.sub(" ", value)
