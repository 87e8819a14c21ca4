"""At 100,000 appointments the service's list and count queries are served by indexes.

The statements are the ones the API runs (storage.queries); their plans are read with
EXPLAIN after ANALYZE, and no plan may scan the appointments table sequentially.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.queries import (
    AppointmentFilter,
    Page,
    SortField,
    overlap_statement,
    page_statement,
    slots_statement,
    total_statement,
)

ROWS = 100_000
CHUNK = 10_000
APPLICATIONS = 100
ORGANIZERS = 50
EPOCH = datetime(2031, 1, 1, tzinfo=UTC)
PREFIX = f"plan-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
async def seeded(engine: AsyncEngine) -> AsyncIterator[str]:
    """100,000 appointments over 100 applications and a year, 5 to 60 minutes long."""
    # In chunks: each statement well within the engine's command timeout on a slow machine.
    for first in range(1, ROWS + 1, CHUNK):
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    """
                    INSERT INTO appointments (id, application_id, organizer_id, organizer_type, status,
                                              start_at, end_at, duration_seconds, timezone, title, version,
                                              doc)
                    SELECT gen_random_uuid(), :prefix || '-' || (n % :apps),
                           'agent-' || (n % :organizers), 'AGENT',
                           CASE WHEN n % 10 = 0 THEN 'ENDED' WHEN n % 7 = 0 THEN 'ACTIVATED'
                                ELSE 'SCHEDULED' END,
                           CAST(:epoch AS timestamptz) + (n * interval '5 minutes'),
                           CAST(:epoch AS timestamptz) + (n * interval '5 minutes')
                               + ((5 + n % 12 * 5) * interval '1 minute'),
                           (5 + n % 12 * 5) * 60, 'Europe/Berlin', 'title ' || n, 1, '{}'::jsonb
                    FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS n
                    """
                ),
                {
                    "prefix": PREFIX,
                    "apps": APPLICATIONS,
                    "organizers": ORGANIZERS,
                    "epoch": EPOCH,
                    "first": first,
                    "last": min(first + CHUNK - 1, ROWS),
                },
            )
    # VACUUM, as autovacuum would on a live table: it also sets the visibility map, without
    # which the planner rightly prices index-only scans as heap reads.
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM (ANALYZE) appointments"))
    yield f"{PREFIX}-42"
    async with engine.begin() as conn:
        await conn.execute(
            text("DELETE FROM appointments WHERE application_id LIKE :p"), {"p": f"{PREFIX}-%"}
        )


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


async def _plan(engine: AsyncEngine, statement: Select[Any]) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        params = tuple(compiled.params[name] for name in compiled.positiontup or [])
        result = await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", params)
        document = result.scalar_one()
    plan = (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]
    return list(_nodes(plan))


def _assert_indexed(nodes: list[dict[str, Any]], index: str) -> None:
    scans = [(n["Node Type"], n.get("Relation Name"), n.get("Index Name")) for n in nodes]
    assert not any(kind == "Seq Scan" and rel == "appointments" for kind, rel, _ in scans), scans
    assert any(name == index for _, _, name in scans), scans


WINDOW_START = EPOCH + timedelta(days=100)


@pytest.mark.parametrize("sort_field", [SortField.START, SortField.END, SortField.TITLE])
async def test_list_by_application_uses_the_application_start_index(
    engine: AsyncEngine, seeded: str, sort_field: SortField
) -> None:
    f = AppointmentFilter(
        application_id=seeded, starts_from=WINDOW_START, starts_before=WINDOW_START + timedelta(days=30)
    )
    nodes = await _plan(engine, page_statement(f, Page(number=1, size=25, sort_field=sort_field)))
    _assert_indexed(nodes, "ix_appointments_app_start")
    _assert_indexed(await _plan(engine, total_statement(f)), "ix_appointments_app_start")


async def test_list_by_organizer_uses_the_organizer_index(engine: AsyncEngine, seeded: str) -> None:
    f = AppointmentFilter(application_id=seeded, organizer_ids=("agent-42",))
    nodes = await _plan(engine, page_statement(f, Page(number=1, size=25)))
    _assert_indexed(nodes, "ix_appointments_app_organizer_start")


@pytest.mark.parametrize("organizer_ids", [(), ("agent-2", "agent-42")])
async def test_totals_and_page_keys_come_from_the_index_alone(
    engine: AsyncEngine, seeded: str, organizer_ids: tuple[str, ...]
) -> None:
    """Only the page's own rows are read from the table, by primary key, for their documents."""
    f = AppointmentFilter(
        application_id=seeded, organizer_ids=organizer_ids, durations=(timedelta(minutes=30),)
    )
    page = Page(number=25, size=20, sort_field=SortField.TITLE, descending=True)
    for nodes in (await _plan(engine, total_statement(f)), await _plan(engine, page_statement(f, page))):
        scans = [
            (n["Node Type"], n.get("Index Name")) for n in nodes if n.get("Relation Name") == "appointments"
        ]
        # Either list index covers a filter on the application alone.
        assert any(kind == "Index Only Scan" for kind, _ in scans), scans
        assert all(kind == "Index Only Scan" or name == "appointments_pkey" for kind, name in scans), scans


async def test_slot_count_uses_the_application_start_index(engine: AsyncEngine, seeded: str) -> None:
    nodes = await _plan(engine, slots_statement(seeded, WINDOW_START, WINDOW_START + timedelta(hours=10)))
    _assert_indexed(nodes, "ix_appointments_app_start")


async def test_overlap_count_uses_the_gist_index(engine: AsyncEngine, seeded: str) -> None:
    nodes = await _plan(engine, overlap_statement(seeded, WINDOW_START, WINDOW_START + timedelta(minutes=30)))
    _assert_indexed(nodes, "ix_appointments_open_during")
