"""The kinds of value a client sends, as constrained msgspec types: the request structs use these.

Bounds msgspec can check (lengths, counts) are constraints in `Meta`, checked when a body is
decoded. What only a parser can check (`domain.values`: a timestamp in range, a known time zone,
a duration within its maximum) is described for the OpenAPI document (format, pattern) and
checked by that parser: the contract's own examples quote such values (`"\\"PT5M\\""`), which the
parsers accept and a pattern would refuse.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from domain.limits import MAX_DURATION
from domain.text import check_text
from domain.values import MAX_ID_LENGTH

# An ISO 8601 duration in weeks, days, hours, minutes and seconds (no years or months), at least
# three characters long (which rules out a bare `P`). No lookaheads: generators of test data (and
# of clients) handle plain regular expressions best.
_TIME = (
    r"T(?:[0-9]+H(?:[0-9]+M)?(?:[0-9]+(?:\.[0-9]+)?S)?|[0-9]+M(?:[0-9]+(?:\.[0-9]+)?S)?|[0-9]+(?:\.[0-9]+)?S)"
)
DURATION_PATTERN = rf"^P(?:[0-9]+W)?(?:[0-9]+D)?(?:{_TIME})?$"
MIN_DURATION_LENGTH = 3


def described(**keywords: Any) -> dict[str, Any]:
    """JSON Schema keywords that document a value without constraining its decoding.

    Litestar reads them under `extra` when it builds the OpenAPI document; msgspec's own JSON
    Schema reads them at the top level.
    """
    return {**keywords, "extra": keywords}


def _text(max_length: int, **meta: Any) -> msgspec.Meta:
    return msgspec.Meta(max_length=max_length, **meta)


def _duration(description: str) -> msgspec.Meta:
    return msgspec.Meta(
        min_length=MIN_DURATION_LENGTH,
        max_length=64,
        description=description,
        examples=["PT30M"],
        extra_json_schema=described(pattern=DURATION_PATTERN),
    )


# Free text: bounded, so that one request cannot bloat every later read of the appointment.
Text = Annotated[str, _text(2000)]
ShortText = Annotated[str, _text(200)]
Subject = Annotated[str, _text(500)]
MessageBody = Annotated[str, _text(100_000)]
# Application, user and participant ids come from the identity provider: any 1 to 100 characters.
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_LENGTH)]
# One plain address (domain.email_address), checked where it is turned into the domain's.
Email = Annotated[str, _text(254, examples=["ada@example.com"], extra_json_schema=described(format="email"))]
Timestamp = Annotated[
    str,
    _text(
        64,
        description="UTC date and time, ISO 8601 (an offset is converted to UTC; none means UTC)",
        examples=["2030-01-31T19:00:00Z"],
        extra_json_schema=described(format="date-time"),
    ),
]
Duration = Annotated[
    str, _duration("ISO 8601 duration in weeks, days, hours, minutes and seconds, such as PT30M or P1DT2H")
]
# How long an appointment lasts: a duration of at most MAX_DURATION.
AppointmentDuration = Annotated[
    str, _duration(f"ISO 8601 duration, longer than zero and at most {MAX_DURATION.days * 24} hours")
]
TimeZone = Annotated[str, _text(64, description="IANA time zone", examples=["Europe/Berlin"])]
Locale = Annotated[str, _text(35, description="BCP 47 locale", examples=["en-GB"])]
AppointmentId = Annotated[
    str,
    _text(
        64,
        description="The appointment's id, a UUID",
        examples=["f46f165d-383a-4432-9a3e-9c805a152e0c"],
        extra_json_schema=described(format="uuid"),
    ),
]


class Request(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    """A whole request body: once decoded, every string in it is held to the text rule
    (`domain.text.check_text`: which fields may span lines, bounds of free-form maps)."""

    def __post_init__(self) -> None:
        check_text(self)
