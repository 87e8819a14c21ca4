"""The read model's list and count queries, each shaped to be served by one index.

- lists: `(application_id, start_at, id)` or `(application_id, organizer_id, start_at, id)`,
  both covering every column a list filters or sorts on, so that totals are index-only scans
  and a page reads the heap for its own rows only;
- slot counts: `(application_id, start_at, id)`;
- overlap counts: the GiST index over `(application_id, tstzrange(start_at, end_at))` of
  open appointments.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Select, and_, func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.model import Appointment, Status
from storage.database import fetch_records
from storage.tables import AppointmentRow

# Spelled out rather than bound, so the planner can match the partial GiST index at plan time.
_OPEN = text("appointments.status IN ('SCHEDULED', 'ACTIVATED')")
_DOC = literal_column("appointments.doc::text")
_DURING = literal_column("tstzrange(appointments.start_at, appointments.end_at, '[)')")


class SortField(StrEnum):
    START = "start"
    END = "end"
    TITLE = "title"
    DURATION = "duration"


_SORT_COLUMNS = {
    SortField.START: AppointmentRow.start_at,
    SortField.END: AppointmentRow.end_at,
    SortField.TITLE: AppointmentRow.title,
    SortField.DURATION: AppointmentRow.duration_seconds,
}
_NULLABLE = frozenset(field for field, column in _SORT_COLUMNS.items() if column.nullable)


class AppointmentFilter(msgspec.Struct, frozen=True, kw_only=True):
    application_id: str
    organizer_ids: tuple[str, ...] = ()
    durations: tuple[timedelta, ...] = ()
    starts_from: datetime | None = None
    starts_before: datetime | None = None
    statuses: tuple[Status, ...] = ()


class Page(msgspec.Struct, frozen=True, kw_only=True):
    number: int
    size: int
    sort_field: SortField = SortField.START
    descending: bool = False


class Slot(msgspec.Struct, frozen=True):
    start: datetime
    end: datetime
    duration: timedelta
    timezone: str
    count: int


def _conditions(f: AppointmentFilter) -> list[ColumnElement[bool]]:
    row = AppointmentRow
    conditions: list[ColumnElement[bool]] = [row.application_id == f.application_id]
    if f.statuses:
        conditions.append(row.status.in_([s.value for s in f.statuses]))
    else:
        conditions.append(row.status != Status.DELETED.value)
    if f.organizer_ids:
        conditions.append(row.organizer_id.in_(f.organizer_ids))
    if f.durations:
        conditions.append(row.duration_seconds.in_([int(d.total_seconds()) for d in f.durations]))
    if f.starts_from is not None:
        conditions.append(row.start_at >= f.starts_from)
    if f.starts_before is not None:
        conditions.append(row.start_at < f.starts_before)
    return conditions


def _order(key: ColumnElement[Any], tie_break: ColumnElement[Any], page: Page) -> list[ColumnElement[Any]]:
    if page.descending:
        key, tie_break = key.desc(), tie_break.desc()
    else:
        key, tie_break = key.asc(), tie_break.asc()
    # Only where NULLs can be: on a NOT NULL column NULLS LAST changes no order, but it would
    # keep a backward index scan from serving a descending one.
    return [key.nulls_last() if page.sort_field in _NULLABLE else key, tie_break]


def page_statement(f: AppointmentFilter, page: Page) -> Select[tuple[str]]:
    """The page's keys, picked from the covering index alone, then the documents of those rows.

    Selecting the documents directly would read every matching row from the heap (and sort
    the documents) to keep one page of them: for a deep page of an application, thousands.
    """
    row = AppointmentRow
    keys = (
        select(row.id, _SORT_COLUMNS[page.sort_field].label("sort_key"))
        .where(and_(*_conditions(f)))
        .order_by(*_order(_SORT_COLUMNS[page.sort_field], row.id, page))
        .limit(page.size)
        .offset((page.number - 1) * page.size)
        .subquery("page_keys")
    )
    return (
        select(_DOC)
        .select_from(keys.join(row, row.id == keys.c.id))
        .order_by(*_order(keys.c.sort_key, keys.c.id, page))
    )


def total_statement(f: AppointmentFilter) -> Select[tuple[int]]:
    return select(func.count()).select_from(AppointmentRow).where(and_(*_conditions(f)))


def slots_statement(
    application_id: str, start: datetime, end: datetime
) -> Select[tuple[datetime, int, str, int]]:
    """A slot is a start, a duration and a time zone; its end is the start plus the duration, so it
    is neither grouped on nor fetched (a fifth of the rows' decoding)."""
    row = AppointmentRow
    return (
        select(row.start_at, row.duration_seconds, row.timezone, func.count())
        .where(row.application_id == application_id, _OPEN, row.start_at >= start, row.start_at < end)
        .group_by(row.start_at, row.duration_seconds, row.timezone)
        .order_by(row.start_at, row.duration_seconds, row.timezone)
    )


def overlap_statement(application_id: str, start: datetime, end: datetime) -> Select[tuple[int]]:
    return select(func.count()).where(
        AppointmentRow.application_id == application_id,
        _OPEN,
        _DURING.op("&&")(func.tstzrange(start, end, text("'[)'"))),
    )


class AppointmentQueries:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def page(self, f: AppointmentFilter, page: Page) -> tuple[list[Appointment], int]:
        """One page of appointments and the total number matching the filter."""
        async with self._engine.connect() as conn:
            total = (await conn.execute(total_statement(f))).scalar_one()
            docs = (await conn.execute(page_statement(f, page))).scalars().all() if total else []
        return [msgspec.json.decode(doc, type=Appointment) for doc in docs], total

    async def count_slots(self, application_id: str, start: datetime, end: datetime) -> list[Slot]:
        """Open appointments starting in `[start, end)`, grouped by their slot."""
        # Thousands of rows for the longest windows: SQLAlchemy's rows around asyncpg's records
        # cost as much as the query (docs/BENCHMARKS.md).
        records = await fetch_records(self._engine, slots_statement(application_id, start, end))
        durations: dict[int, timedelta] = {}
        slots = []
        for start_at, seconds, timezone, count in records:
            duration = durations.get(seconds) or durations.setdefault(seconds, timedelta(seconds=seconds))
            slots.append(Slot(start_at, start_at + duration, duration, timezone, count))
        return slots

    async def count_overlapping(self, application_id: str, start: datetime, end: datetime) -> int:
        """Open appointments whose `[start, end)` intersects the given one; touching ends do not."""
        async with self._engine.connect() as conn:
            return (await conn.execute(overlap_statement(application_id, start, end))).scalar_one()
