"""Query parameters of the reads over many appointments: lists, ranges, paging, time frames.

Declared as the contract types them (`pageSize` an integer, `sortOrder` asc or desc, `start` a
date-time); parsed here, so that errors name the parameter as clients spell it.
"""

from __future__ import annotations

from typing import Annotated

from api.parameters import DATE_TIME, DURATION, ID, INTEGER, query
from domain import values
from domain.durations import unquote
from domain.errors import invalid
from storage.queries import Page, SortField

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_PAGE_NUMBER = 100_000

# Repeated parameters; absent: empty. A tuple, not `list | None`: the document then says "an array
# of strings" rather than "an array or null", which a query string cannot tell apart.
QueryList = tuple[str, ...]

# An empty filter filters nothing, as if absent.
_ID_OR_EMPTY = {key: value for key, value in ID.items() if key != "minLength"}

PublicApplicationId = Annotated[str, query("applicationId", "Unique application identifier", **ID)]
ApplicationFilter = Annotated[
    str | None,
    query("applicationId", "Unique application identifier: the token's own", **_ID_OR_EMPTY),
]
OrganizerIds = Annotated[
    QueryList,
    query(
        "organizerId",
        "Organizer ids, repeated or comma-separated: for supervisors; other roles see what they organize",
        type="array",
        items=_ID_OR_EMPTY,
    ),
]
Durations = Annotated[
    QueryList,
    query(
        "duration",
        "Appointment durations, repeated or comma-separated, in ISO 8601 (PT30M)",
        type="array",
        items=DURATION,
    ),
]
Range = Annotated[
    QueryList,
    query(
        "range",
        "Start and end (UTC, ISO 8601), comma-separated: appointments starting in between",
        type="array",
        items=DATE_TIME,
        minItems=2,
        maxItems=2,
    ),
]
PageSize = Annotated[
    str | None,
    query(
        "pageSize",
        f"Page size ({DEFAULT_PAGE_SIZE} by default; more than {MAX_PAGE_SIZE} gives {MAX_PAGE_SIZE})",
        minimum=1,
        **INTEGER,
    ),
]
PageNumber = Annotated[
    str | None,
    query("pageNumber", "Page number, from 1", minimum=1, maximum=MAX_PAGE_NUMBER, **INTEGER),
]
SortFieldParameter = Annotated[
    str | None,
    query("sortField", "Field to sort by", type="string", enum=[f.value for f in SortField]),
]
SortOrder = Annotated[
    str | None, query("sortOrder", "asc (the default) or desc", type="string", enum=["asc", "desc"])
]
Start = Annotated[str, query("start", "UTC start date and time (ISO 8601)", **DATE_TIME)]
TimeFrame = Annotated[
    str, query("timeFrame", "How far after `start` to count, in ISO 8601 (at most 31 days)", **DURATION)
]
OverlapDuration = Annotated[
    str, query("duration", "Length of the interval from `start`, in ISO 8601 (at most 31 days)", **DURATION)
]
EligibleTimeFrame = Annotated[
    str | None,
    query("timeFrame", "Only appointments starting within this duration from now (ISO 8601)", **DURATION),
]


def page(
    page_size: str | None, page_number: str | None, sort_field: str | None, sort_order: str | None
) -> Page:
    size = DEFAULT_PAGE_SIZE if page_size is None else values.parse_whole_number("pageSize", page_size, 1)
    number = 1 if page_number is None else values.parse_whole_number("pageNumber", page_number)
    if not 1 <= number <= MAX_PAGE_NUMBER:
        raise invalid("pageNumber", f"pageNumber: must be between 1 and {MAX_PAGE_NUMBER}")
    # Absent is the default; present but empty is no value the document allows.
    field = SortField.START.value if sort_field is None else unquote(sort_field)
    if field not in SortField.__members__.values():
        allowed = ", ".join(f.value for f in SortField)
        raise invalid("sortField", f"sortField: {field!r} is not one of {allowed}")
    order = "asc" if sort_order is None else unquote(sort_order).lower()
    if order not in ("asc", "desc"):
        raise invalid("sortOrder", "sortOrder: must be asc or desc")
    return Page(
        number=number, size=min(size, MAX_PAGE_SIZE), sort_field=SortField(field), descending=order == "desc"
    )
