"""Query parameters of the list endpoints: lists, ranges and paging, parsed into filters."""

from __future__ import annotations

import re
from datetime import datetime

from domain import values
from domain.access import Principal
from domain.durations import unquote
from domain.errors import forbidden, invalid, shown
from storage.queries import Page, SortField

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_PAGE_NUMBER = 100_000

# Repeated parameters; absent: empty. A tuple, not `list | None`: the document then says "an array
# of strings" rather than "an array or null", which a query string cannot tell apart.
QueryList = tuple[str, ...]
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


def items(raw: QueryList) -> list[str]:
    """Repeated parameters and comma-separated values alike."""
    return [unquote(part) for value in raw for part in value.split(",") if unquote(part)]


def time_range(raw: QueryList) -> tuple[datetime, datetime] | None:
    parts = items(raw)
    if not parts:
        return None
    if len(parts) != 2:
        raise invalid("range", "range: give a start and an end, comma-separated (start,end)")
    start, end = (values.parse_timestamp("range", item) for item in parts)
    if end < start:
        raise invalid("range", "range: the end is before the start")
    return start, end


def _whole_number(field: str, raw: str | None, default: int) -> int:
    """Parsed here, not by the framework, so that errors name the parameter as clients spell it."""
    text = unquote(raw or "")
    if not text:
        return default
    # ASCII digits only: str.isdigit() also accepts superscripts, which int() refuses (a 500).
    if not _WHOLE_NUMBER.fullmatch(text) or len(text) > 12:
        raise invalid(field, f"{field}: {shown(raw)} is not a whole number")
    return int(text)


def page(
    page_size: str | None, page_number: str | None, sort_field: str | None, sort_order: str | None
) -> Page:
    size = _whole_number("pageSize", page_size, DEFAULT_PAGE_SIZE)
    number = _whole_number("pageNumber", page_number, 1)
    if size < 1:
        raise invalid("pageSize", "pageSize: must be at least 1")
    if not 1 <= number <= MAX_PAGE_NUMBER:
        raise invalid("pageNumber", f"pageNumber: must be between 1 and {MAX_PAGE_NUMBER}")
    field = unquote(sort_field or SortField.START.value)
    if field not in SortField.__members__.values():
        allowed = ", ".join(f.value for f in SortField)
        raise invalid("sortField", f"sortField: {field!r} is not one of {allowed}")
    order = unquote(sort_order or "asc").lower()
    if order not in ("asc", "desc"):
        raise invalid("sortOrder", "sortOrder: must be asc or desc")
    return Page(
        number=number, size=min(size, MAX_PAGE_SIZE), sort_field=SortField(field), descending=order == "desc"
    )


def same_application(principal: Principal, application_id: str | None) -> None:
    if application_id is not None and unquote(application_id) != principal.application_id:
        raise forbidden("applicationId differs from the application of the token")
