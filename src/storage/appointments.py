"""Read-model queries for appointments: the idempotent projection and the reads of the API."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.model import Appointment
from storage.database import driver_connection
from storage.read_connections import ReadConnections

# The projection of one appointment in one statement (and so one round trip, atomic without a
# transaction of its own): its row, unless a newer version is there ($13, `force`, writes it
# anyway), and then its participants ($14, $15), only those rows that differ. `written` holds the
# row's id when it was written; a statement that needs more appends its own final SELECT.
PROJECTION = """
    WITH written AS (
        INSERT INTO appointments AS a (id, application_id, organizer_id, organizer_type, status,
                                       start_at, end_at, duration_seconds, timezone, title, version,
                                       doc, projected_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, now())
        ON CONFLICT (id) DO UPDATE SET
            application_id = EXCLUDED.application_id, organizer_id = EXCLUDED.organizer_id,
            organizer_type = EXCLUDED.organizer_type, status = EXCLUDED.status,
            start_at = EXCLUDED.start_at, end_at = EXCLUDED.end_at,
            duration_seconds = EXCLUDED.duration_seconds, timezone = EXCLUDED.timezone,
            title = EXCLUDED.title, version = EXCLUDED.version, doc = EXCLUDED.doc,
            projected_at = EXCLUDED.projected_at
        WHERE a.version < EXCLUDED.version OR $13
        RETURNING a.id
    ), removed AS (
        DELETE FROM participants AS p USING written
        WHERE p.appointment_id = written.id AND p.participant_id <> ALL($14::text[])
    ), added AS (
        INSERT INTO participants AS p (appointment_id, participant_id, type)
        SELECT written.id, x.participant_id, x.type
        FROM written, unnest($14::text[], $15::text[]) AS x(participant_id, type)
        ON CONFLICT (appointment_id, participant_id) DO UPDATE SET type = EXCLUDED.type
        WHERE p.type <> EXCLUDED.type
    )
"""
_PROJECT = PROJECTION + "SELECT count(*) FROM written"
# In asyncpg's parameter style: run by the driver itself (see `get`).
GET_DOC = "SELECT doc::text FROM appointments WHERE id = $1"
_VERSION = text("SELECT version FROM appointments WHERE id = :id")


def projection_arguments(appointment: Appointment, *, force: bool = False) -> tuple[Any, ...]:
    """The arguments of `PROJECTION` for `appointment`."""
    # One row per participant id (the table's key); the last type given for an id wins.
    participants = {p.id: p.type.value for p in appointment.participants}
    return (
        uuid.UUID(appointment.id),
        appointment.application_id,
        appointment.organizer.id,
        appointment.organizer.type.value,
        appointment.status.value,
        appointment.start,
        appointment.end,
        int(appointment.duration.total_seconds()),
        appointment.timezone,
        appointment.title,
        appointment.version,
        msgspec.json.encode(appointment).decode(),
        force,
        list(participants),
        list(participants.values()),
    )


def parse_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


class AppointmentStore:
    def __init__(self, engine: AsyncEngine, *, reads: ReadConnections | None = None) -> None:
        """`reads`: bare connections for `get` (the API's, `create_read_connections`)."""
        self._engine = engine
        self._reads = reads

    async def project(self, appointment: Appointment, *, force: bool = False) -> bool:
        """Write this version unless a newer one is already there; True when written.

        Retried or reordered projections are therefore harmless: the row only moves forward.
        `force` is the operator's repair (`appointments reproject --force`): the workflow's
        state replaces the row whatever version the row claims.
        """
        async with driver_connection(self._engine) as connection:
            return bool(await connection.fetchval(_PROJECT, *projection_arguments(appointment, force=force)))

    async def get(self, appointment_id: str) -> Appointment | None:
        """The appointment as last projected, deleted ones included (callers judge visibility)."""
        key = parse_id(appointment_id)
        if key is None:
            return None
        doc = await (self._reads.fetchval(GET_DOC, key) if self._reads else self._fetch_doc(key))
        return None if doc is None else msgspec.json.decode(doc, type=Appointment)

    async def _fetch_doc(self, key: uuid.UUID) -> str | None:
        async with driver_connection(self._engine) as connection:
            return await connection.fetchval(GET_DOC, key)

    async def version(self, appointment_id: str) -> int | None:
        key = parse_id(appointment_id)
        if key is None:
            return None
        async with self._engine.connect() as conn:
            return (await conn.execute(_VERSION, {"id": key})).scalar_one_or_none()
