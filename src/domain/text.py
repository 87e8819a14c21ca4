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
from functools import cache

import msgspec

from domain.errors import invalid
from domain.limits import check_map

# Every character `str.splitlines` splits at (tests/unit/test_text.py checks the whole of Unicode).
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_ONE_LINE_FORBIDDEN_CHARS = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
ONE_LINE_FORBIDDEN = re.compile(f"[{_ONE_LINE_FORBIDDEN_CHARS}]")
# The same rule as a JSON Schema pattern, for the OpenAPI document (ECMA-262 reads the escapes alike).
ONE_LINE_PATTERN = f"^[^{_ONE_LINE_FORBIDDEN_CHARS}]*$"
MULTI_LINE_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAK = re.compile(f"[{re.escape(LINE_BREAKS)}]+")


def is_one_line(value: str) -> bool:
    return ONE_LINE_FORBIDDEN.search(value) is None


def is_multi_line(value: str) -> bool:
    return MULTI_LINE_FORBIDDEN.search(value) is None


def has_line_break(value: str) -> bool:
    """Whether `value` would break a line: what Python's email package refuses in a header."""
    return _LINE_BREAK.search(value) is not None


def one_line(value: str) -> str:
    """`value` with every run of line breaks made one space: for a header rendered from a template."""
    return _LINE_BREAK.sub(" ", value)


# Only these fields may span lines; every other string (titles, names, ids, addresses, locales,
# time zones, URLs, headers, and the keys of every map) is one line.
MULTILINE_FIELDS = frozenset({"notes", "textBody", "htmlBody"})
# Maps of the client's own data: one-line keys, string values (at any depth) that may span lines,
# and bounded in entries and size (domain.limits).
FREE_FORM_MAPS = frozenset({"metadata", "customFields", "properties"})


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def check_text(value: object, path: str = "", multiline: bool = False) -> None:
    """Raise a 400 naming the first string, or map key, under `value` that breaks the text rule,
    and a 413 for the first free-form map beyond its bounds."""
    if isinstance(value, str):
        if not (is_multi_line(value) if multiline else is_one_line(value)):
            kind = "control characters" if multiline else "control characters and line breaks"
            raise invalid(path, f"{path}: {kind} are not allowed")
    elif isinstance(value, msgspec.Struct):
        for name, attribute in _field_names(type(value)):
            child = getattr(value, attribute)
            if name in FREE_FORM_MAPS and isinstance(child, dict):
                check_map(_join(path, name), child)
                check_text(child, _join(path, name), multiline=True)
            else:
                check_text(child, _join(path, name), multiline=name in MULTILINE_FIELDS)
    elif isinstance(value, dict):
        for key, child in value.items():
            if isinstance(key, str) and not is_one_line(key):
                raise invalid(path, f"{path}: the key {key[:40]!r} has control characters or line breaks")
            check_text(child, _join(path, str(key)), multiline)
    elif isinstance(value, list | tuple):
        for index, child in enumerate(value):
            check_text(child, f"{path}[{index}]", multiline)


@cache
def _field_names(struct: type[msgspec.Struct]) -> tuple[tuple[str, str], ...]:
    """(JSON name, attribute) of each field: `msgspec.structs.fields` resolves the type hints
    on every call, which cost a tenth of the API's time on the write path."""
    return tuple((f.encode_name, f.name) for f in msgspec.structs.fields(struct))
