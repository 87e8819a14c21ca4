"""The read model's list and count queries at 1,000,000 appointments.

    .venv/bin/python -m bench.queries [--fresh] [--iterations N] [--json PATH]

An embedded PostgreSQL 18 in `.bench/queries-pg` (kept between runs, so the seeding happens
once; `--fresh` reseeds) is migrated with the service's own migrations and seeded with
1,000,000 appointments over 100 applications of 50 organizers each. Each query is then run
through the service's own code path (storage.queries.AppointmentQueries), one client at a
time, with parameters drawn anew for every call; the same SQL is also timed on the bare
asyncpg connection, so the table tells server time from client overhead. Every plan is
printed with EXPLAIN (ANALYZE, BUFFERS).
"""

# ruff: noqa: E402 (the path must be set before the project's packages are imported)

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The one command works without an installed project or PYTHONPATH.
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import argparse
import asyncio
import json
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import Select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from config.settings import to_sqlalchemy_url
from devstack.postgres import EmbeddedPostgres
from domain.limits import MAX_COUNT_TIME_FRAME
from domain.model import (
    Appointment,
    Contact,
    Interaction,
    InteractionState,
    Name,
    Participant,
    ParticipantRef,
    ParticipantType,
    Status,
)
from storage.appointments import projection_arguments
from storage.database import create_engine
from storage.migrations import upgrade
from storage.queries import (
    AppointmentFilter,
    AppointmentQueries,
    Page,
    SortField,
    overlap_statement,
    page_statement,
    slots_statement,
    total_statement,
)

ROWS = 1_000_000
APPLICATIONS = 100
ORGANIZERS = 50
TARGET_MS = 10.0
YEAR = datetime(2026, 1, 1)
DAYS = 365
DURATIONS = tuple(timedelta(minutes=m) for m in (15, 30, 45, 60))
TIMEZONES = ("Europe/Berlin", "Europe/London", "America/New_York", "America/Chicago", "Asia/Tokyo")
STATUSES = (Status.SCHEDULED, Status.ENDED, Status.DELETED, Status.ACTIVATED)
STATUS_WEIGHTS = (80, 12, 5, 3)
TOPICS = ("Consultation", "Follow-up", "Onboarding", "Claim review", "Contract renewal", "Support call")
FIRST_NAMES = ("Anna", "Ben", "Chloé", "David", "Emma", "Farid", "Greta", "Hugo", "Ines", "Jonas")
LAST_NAMES = ("Keller", "Lopez", "Müller", "Nakamura", "Olsen", "Petrov", "Quinn", "Rossi", "Schmidt")
PAGE_SIZE = 20
DEEP_PAGE = 25
BATCH = 20_000


def application(index: int) -> str:
    return f"app-{index:03d}"


def organizer(app_index: int, index: int) -> str:
    return f"{application(app_index)}-agent-{index:02d}"


def zone(app_index: int) -> ZoneInfo:
    return ZoneInfo(TIMEZONES[app_index % len(TIMEZONES)])


def local_start(app_index: int, day: int, minute_of_day: int) -> datetime:
    """A wall-clock time of the application's own time zone, as an aware UTC datetime."""
    wall = YEAR + timedelta(days=day, minutes=minute_of_day)
    return wall.replace(tzinfo=zone(app_index)).astimezone(UTC)


# --- seeding ----------------------------------------------------------------------------------


_APPOINTMENT_COLUMNS = (
    "id",
    "application_id",
    "organizer_id",
    "organizer_type",
    "status",
    "start_at",
    "end_at",
    "duration_seconds",
    "timezone",
    "title",
    "version",
    "doc",
    "projected_at",
)


def _interaction_state(rng: random.Random, status: Status) -> InteractionState:
    if status is not Status.ENDED:
        return InteractionState.PENDING
    return InteractionState.EXPIRED if rng.random() < 0.2 else InteractionState.ENDED


def appointment(rng: random.Random) -> Appointment:
    """One appointment as a workflow would project it: office hours, quarter-hour slots."""
    app_index = rng.randrange(APPLICATIONS)
    organizer_id = organizer(app_index, rng.randrange(ORGANIZERS))
    start = local_start(app_index, rng.randrange(DAYS), 8 * 60 + 15 * rng.randrange(40))
    status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    created = start - timedelta(days=rng.randint(1, 30), minutes=rng.randrange(1440))
    changes = rng.randrange(3)
    return Appointment(
        id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        application_id=application(app_index),
        organizer=ParticipantRef(id=organizer_id, type=ParticipantType.AGENT),
        participants=(
            Participant(id=organizer_id, type=ParticipantType.AGENT, username=organizer_id),
            Participant(
                id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                type=ParticipantType.CUSTOMER,
                name=Name(first_name=first, last_name=last),
                contact=Contact(
                    primary_email=f"{first.lower()}.{last.lower()}@example.com",
                    primary_phone=f"+4930{rng.randrange(10**7):07d}",
                ),
            ),
        ),
        start=start,
        duration=rng.choice(DURATIONS),
        timezone=TIMEZONES[app_index % len(TIMEZONES)],
        created_at=created,
        updated_at=created + timedelta(hours=changes),
        locale="en-GB",
        title=f"{rng.choice(TOPICS)} with {first} {last}",
        interaction=Interaction(state=_interaction_state(rng, status)),
        notifications_active=True,
        status=status,
        version=1 + changes,
        sequence=changes,
    )


def appointment_record(a: Appointment, now: datetime) -> tuple[Any, ...]:
    """The row AppointmentStore.project writes for `a`: the projection's arguments for every column
    but the last, `projected_at`."""
    return (*projection_arguments(a)[: len(_APPOINTMENT_COLUMNS) - 1], now)


def participant_records(a: Appointment) -> Iterator[tuple[uuid.UUID, str, str]]:
    return ((uuid.UUID(a.id), p.id, p.type.value) for p in a.participants)


async def _drop_secondary(conn: asyncpg.Connection) -> list[str]:
    """Drop the secondary indexes and foreign keys of the two tables; return how to restore them.

    Building an index once after the load is several times faster than maintaining it row by
    row, and reading the definitions from the catalog keeps the migrations their only source.
    """
    indexes = await conn.fetch(
        """
        SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid IN ('appointments'::regclass, 'participants'::regclass) AND NOT i.indisprimary
        """
    )
    keys = await conn.fetch(
        """
        SELECT conname AS name, conrelid::regclass::text AS tab, pg_get_constraintdef(oid) AS definition
        FROM pg_constraint WHERE contype = 'f' AND conrelid = 'participants'::regclass
        """
    )
    for key in keys:
        await conn.execute(f'ALTER TABLE {key["tab"]} DROP CONSTRAINT "{key["name"]}"')
    for index in indexes:
        await conn.execute(f'DROP INDEX "{index["name"]}"')
    return [i["definition"] for i in indexes] + [
        f'ALTER TABLE {k["tab"]} ADD CONSTRAINT "{k["name"]}" {k["definition"]}' for k in keys
    ]


async def seed(engine: AsyncEngine, rows: int) -> float:
    """Replace the appointments with `rows` generated ones; return the seconds it took."""
    began = time.perf_counter()
    rng = random.Random(20261128)
    now = datetime.now(UTC)
    async with engine.connect() as sa_conn:
        conn = await _driver(sa_conn)
        async with conn.transaction():
            await conn.execute("SET LOCAL maintenance_work_mem = '1GB'")
            await conn.execute("TRUNCATE appointments CASCADE")
            restore = await _drop_secondary(conn)
            for done in range(0, rows, BATCH):
                batch = [appointment(rng) for _ in range(min(BATCH, rows - done))]
                await conn.copy_records_to_table(
                    "appointments",
                    records=[appointment_record(a, now) for a in batch],
                    columns=_APPOINTMENT_COLUMNS,
                )
                await conn.copy_records_to_table(
                    "participants",
                    records=[r for a in batch for r in participant_records(a)],
                    columns=("appointment_id", "participant_id", "type"),
                )
                print(f"\r  seeded {done + len(batch):,} / {rows:,}", end="", flush=True)
            print("\n  building indexes and foreign keys")
            for statement in restore:
                await conn.execute(statement)
        # Outside the transaction: VACUUM also sets the visibility map for index-only scans.
        await conn.execute("VACUUM (ANALYZE) appointments")
        await conn.execute("VACUUM (ANALYZE) participants")
    return time.perf_counter() - began


async def _driver(conn: AsyncConnection) -> asyncpg.Connection:
    raw = await conn.get_raw_connection()
    return raw.driver_connection  # type: ignore[return-value]


async def appointment_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(text("SELECT count(*) FROM appointments"))).scalar_one()


# --- the calls measured -----------------------------------------------------------------------


class Call(Protocol):
    async def run(self, queries: AppointmentQueries) -> tuple[int, int]:
        """Rows returned and rows counted."""
        ...

    def statements(self) -> list[Select[Any]]:
        """The statements `run` executes, in its order."""
        ...


@dataclass(frozen=True)
class ListCall:
    filter: AppointmentFilter
    page: Page

    async def run(self, queries: AppointmentQueries) -> tuple[int, int]:
        found, total = await queries.page(self.filter, self.page)
        return len(found), total

    def statements(self) -> list[Select[Any]]:
        return [total_statement(self.filter), page_statement(self.filter, self.page)]


@dataclass(frozen=True)
class SlotsCall:
    application_id: str
    start: datetime
    end: datetime

    async def run(self, queries: AppointmentQueries) -> tuple[int, int]:
        slots = await queries.count_slots(self.application_id, self.start, self.end)
        return len(slots), sum(s.count for s in slots)

    def statements(self) -> list[Select[Any]]:
        return [slots_statement(self.application_id, self.start, self.end)]


@dataclass(frozen=True)
class OverlapCall:
    application_id: str
    start: datetime
    end: datetime

    async def run(self, queries: AppointmentQueries) -> tuple[int, int]:
        return 1, await queries.count_overlapping(self.application_id, self.start, self.end)

    def statements(self) -> list[Select[Any]]:
        return [overlap_statement(self.application_id, self.start, self.end)]


@dataclass(frozen=True)
class Case:
    name: str
    draw: Callable[[random.Random], Call]
    # Cases far beyond the target run fewer times, so they do not dominate the run.
    share: float = 1.0


def _window(rng: random.Random, app_index: int, days: int) -> tuple[datetime, datetime]:
    start = local_start(app_index, rng.randrange(DAYS - days + 1), 0)
    return start, local_start(app_index, (start.date() - YEAR.date()).days + days, 0)


def _list(
    *,
    organizers: int,
    window_days: int | None,
    durations: int,
    sort: SortField,
    descending: bool,
    page: int = DEEP_PAGE,
) -> Callable[[random.Random], Call]:
    """A draw of the list endpoint: `organizers` 0 is a supervisor listing the whole application."""

    def draw(rng: random.Random) -> Call:
        app_index = rng.randrange(APPLICATIONS)
        window = _window(rng, app_index, window_days) if window_days else None
        return ListCall(
            AppointmentFilter(
                application_id=application(app_index),
                organizer_ids=tuple(
                    organizer(app_index, i) for i in rng.sample(range(ORGANIZERS), organizers)
                ),
                durations=tuple(rng.sample(DURATIONS, durations)) if durations < len(DURATIONS) else (),
                starts_from=window[0] if window else None,
                starts_before=window[1] if window else None,
            ),
            Page(number=page, size=PAGE_SIZE, sort_field=sort, descending=descending),
        )

    return draw


def _slots(frame: timedelta) -> Callable[[random.Random], Call]:
    def draw(rng: random.Random) -> Call:
        app_index = rng.randrange(APPLICATIONS)
        # A working day from 08:00 local, as a booking page would ask.
        start = local_start(app_index, rng.randrange(DAYS), 8 * 60)
        return SlotsCall(application(app_index), start, start + frame)

    return draw


def _overlap(length: timedelta) -> Callable[[random.Random], Call]:
    def draw(rng: random.Random) -> Call:
        app_index = rng.randrange(APPLICATIONS)
        start = local_start(app_index, rng.randrange(DAYS), 8 * 60 + 15 * rng.randrange(40))
        return OverlapCall(application(app_index), start, start + length)

    return draw


START, TITLE = SortField.START, SortField.TITLE

CASES = (
    # An agent's own list: ~200 a year, so page 25 would be past the end; page 1 is what they see.
    Case(
        "list agent, 90d, 2 durations, start desc, p1",
        _list(organizers=1, window_days=90, durations=2, sort=START, descending=True, page=1),
    ),
    Case(
        "list 5 organizers, year, 3 durations, start desc, p25",
        _list(organizers=5, window_days=None, durations=3, sort=START, descending=True),
    ),
    Case(
        "list 5 organizers, year, 3 durations, title asc, p25",
        _list(organizers=5, window_days=None, durations=3, sort=TITLE, descending=False),
    ),
    Case(
        "list application, 90d, 3 durations, start desc, p25",
        _list(organizers=0, window_days=90, durations=3, sort=START, descending=True),
    ),
    Case(
        "list application, 90d, 3 durations, title asc, p25",
        _list(organizers=0, window_days=90, durations=3, sort=TITLE, descending=False),
    ),
    Case(
        "list application, unfiltered, start asc, p25",
        _list(organizers=0, window_days=None, durations=4, sort=START, descending=False),
    ),
    Case(
        "list application, unfiltered, start desc, p25",
        _list(organizers=0, window_days=None, durations=4, sort=START, descending=True),
    ),
    Case(
        "list application, unfiltered, title desc, p25",
        _list(organizers=0, window_days=None, durations=4, sort=TITLE, descending=True),
    ),
    Case(
        "list application, unfiltered, duration asc, p25",
        _list(organizers=0, window_days=None, durations=4, sort=SortField.DURATION, descending=False),
    ),
    Case("count PT10H", _slots(timedelta(hours=10))),
    Case("count P7D", _slots(timedelta(days=7))),
    Case("count P31D (the maximum timeFrame)", _slots(MAX_COUNT_TIME_FRAME)),
    Case("overlap count P31D (the maximum duration)", _overlap(MAX_COUNT_TIME_FRAME)),
    Case("overlap count PT30M", _overlap(timedelta(minutes=30))),
    Case("overlap count PT10H", _overlap(timedelta(hours=10))),
)


# --- measuring --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    query: str
    iterations: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    raw_p50_ms: float
    server_ms: float
    returned: float
    counted: float


def _percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _compiled(conn: AsyncConnection, statement: Select[Any]) -> tuple[str, tuple[Any, ...]]:
    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    return str(compiled), tuple(compiled.params[name] for name in compiled.positiontup or [])


async def _timed(calls: Sequence[Call], run: Callable[[Call], Awaitable[Any]]) -> list[float]:
    samples = []
    for call in calls:
        began = time.perf_counter()
        await run(call)
        samples.append((time.perf_counter() - began) * 1000)
    return samples


async def _raw(conn: asyncpg.Connection, sql: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
    for statement, params in sql:
        await conn.fetch(statement, *params)


async def explain(conn: AsyncConnection, call: Call) -> tuple[str, float]:
    """The plans of `call`'s statements as run with its parameters, and their execution time."""
    plans, server_ms = [], 0.0
    for statement in call.statements():
        sql, params = _compiled(conn, statement)
        result = await conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        lines = [row[0] for row in result]
        server_ms += next(float(x.split()[2]) for x in lines if x.startswith("Execution Time"))
        plans.append(f"{sql}\n  params: {params}\n" + "\n".join(lines))
    return "\n\n".join(plans), server_ms


async def measure(
    engine: AsyncEngine, case: Case, iterations: int, warmup: int, rng: random.Random
) -> tuple[Result, str]:
    queries = AppointmentQueries(engine)
    n = max(10, int(iterations * case.share))
    calls = [case.draw(rng) for _ in range(warmup + n)]
    for call in calls[:warmup]:
        await call.run(queries)
    sizes = [await call.run(queries) for call in calls[warmup:]]
    samples = await _timed(calls[warmup:], lambda c: c.run(queries))
    async with engine.connect() as conn:
        driver = await _driver(conn)
        sql = [[_compiled(conn, s) for s in call.statements()] for call in calls]
        for statements in sql[:warmup]:
            await _raw(driver, statements)
        raw = [0.0] * n
        for i, statements in enumerate(sql[warmup:]):
            began = time.perf_counter()
            await _raw(driver, statements)
            raw[i] = (time.perf_counter() - began) * 1000
        plan, server_ms = await explain(conn, calls[warmup])
    result = Result(
        query=case.name,
        iterations=n,
        p50_ms=statistics.median(samples),
        p99_ms=_percentile(samples, 0.99),
        max_ms=max(samples),
        raw_p50_ms=statistics.median(raw),
        server_ms=server_ms,
        returned=statistics.median(r for r, _ in sizes),
        counted=statistics.median(c for _, c in sizes),
    )
    return result, plan


def table(results: Sequence[Result]) -> str:
    width = max(len(r.query) for r in results)
    columns = f"{'p50':>7} {'p99':>7} {'max':>7}  {'raw p50':>7} {'server':>7}"
    head = f"{'query':<{width}}  {columns}  rows (returned/counted)"
    lines = [head, "-" * len(head)]
    for r in results:
        flag = "  <-- over target" if r.p50_ms >= TARGET_MS else ""
        lines.append(
            f"{r.query:<{width}}  {r.p50_ms:7.2f} {r.p99_ms:7.2f} {r.max_ms:7.2f}  "
            f"{r.raw_p50_ms:7.2f} {r.server_ms:7.2f}  {r.returned:g}/{r.counted:g}{flag}"
        )
    lines.append(
        "ms; p50/p99/max: the service's AppointmentQueries; raw p50: the same SQL on bare asyncpg; "
        "server: EXPLAIN ANALYZE execution time of one draw"
    )
    return "\n".join(lines)


# --- main -------------------------------------------------------------------------------------


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.queries", description=__doc__.split("\n")[0])
    parser.add_argument("--pgdata", type=Path, default=ROOT / ".bench" / "queries-pg")
    parser.add_argument("--fresh", action="store_true", help="reseed even if the data is there")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--iterations", type=int, default=1000, help="timed calls per query")
    parser.add_argument("--warmup", type=int, default=50, help="untimed calls per query first")
    parser.add_argument("--only", help="run only the queries whose name contains this")
    parser.add_argument("--no-plans", action="store_true", help="do not print the query plans")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    return parser.parse_args()


async def bench(url: str, args: argparse.Namespace) -> list[Result]:
    engine = create_engine(url)
    try:
        if args.fresh or await appointment_count(engine) != args.rows:
            print(f"seeding {args.rows:,} appointments over {APPLICATIONS} applications")
            print(f"seeded in {await seed(engine, args.rows):.1f} s")
        else:
            print(f"reusing {args.rows:,} seeded appointments (--fresh to reseed)")
        rng = random.Random(7)
        results = []
        for case in CASES:
            if args.only and args.only not in case.name:
                continue
            result, plan = await measure(engine, case, args.iterations, args.warmup, rng)
            results.append(result)
            print(f"\n=== {case.name}: p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms")
            if not args.no_plans:
                print(plan)
        return results
    finally:
        await engine.dispose()


def main() -> None:
    args = arguments()
    server = EmbeddedPostgres(args.pgdata, database="bench_queries")
    began = time.perf_counter()
    url = to_sqlalchemy_url(server.start())
    try:
        print(f"postgres up in {time.perf_counter() - began:.1f} s ({args.pgdata})")
        # Before the event loop: Alembic runs a loop of its own.
        upgrade(url)
        results = asyncio.run(bench(url, args))
    finally:
        server.stop()
    print()
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))


if __name__ == "__main__":
    main()
