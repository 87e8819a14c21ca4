"""The one-line rule refuses exactly what Python's email package refuses in a header, and more."""

from __future__ import annotations

import re
import sys
from email.message import EmailMessage

import pytest

from domain.text import LINE_BREAKS, ONE_LINE_PATTERN, is_multi_line, is_one_line, one_line


def test_line_breaks_are_every_character_splitlines_breaks_at() -> None:
    breaks = {chr(c) for c in range(sys.maxunicode + 1) if len(f"a{chr(c)}b".splitlines()) == 2}
    assert breaks == set(LINE_BREAKS)


@pytest.mark.parametrize("char", list(LINE_BREAKS))
def test_every_character_an_email_header_refuses_is_not_one_line(char: str) -> None:
    message = EmailMessage()
    with pytest.raises(ValueError, match="linefeed or carriage return"):
        message["Subject"] = f"a{char}b"
    assert not is_one_line(f"a{char}b")


def test_multi_line_text_keeps_tab_line_feed_and_carriage_return_only() -> None:
    assert is_multi_line("Dear Ada,\r\n\tsee you\n")
    assert not is_multi_line("a\x00b") and not is_multi_line("a\x1bb") and not is_multi_line("a\x85b")


def test_real_world_text_is_one_line() -> None:
    for text in ("Zoë 🙂", "שלום עולם", "e\u0301", "日本語", "Ελληνικά"):
        assert is_one_line(text)


def test_one_line_turns_line_breaks_into_spaces() -> None:
    assert one_line("a\u2028b\r\n\nc") == "a b c"


def test_the_documents_pattern_is_the_one_line_rule_over_the_whole_of_unicode() -> None:
    pattern = re.compile(ONE_LINE_PATTERN)
    texts = (f"a{chr(c)}b" for c in range(sys.maxunicode + 1))
    disagree = [text for text in texts if (pattern.match(text) is not None) != is_one_line(text)]
    assert not disagree, [hex(ord(text[1])) for text in disagree[:20]]
