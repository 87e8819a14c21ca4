"""Read-model queries for appointments: the idempotent projection and the reads of the API."""

from __future__ import annotations

import uuid

import asyncpg
import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.model import Appointment
from storage.database import driver_connection

_UPSERT = text(
    """
    INSERT INTO appointments AS a (id, application_id, organizer_id, organizer_type, status,
                                   start_at, end_at, duration_seconds, timezone, title, version, doc,
                                   projected_at)
    VALUES (:id, :application_id, :organizer_id, :organizer_type, :status, :start_at, :end_at,
            :duration_seconds, :timezone, :title, :version, CAST(:doc AS jsonb), now())
    ON CONFLICT (id) DO UPDATE SET
        application_id = EXCLUDED.application_id, organizer_id = EXCLUDED.organizer_id,
        organizer_type = EXCLUDED.organizer_type, status = EXCLUDED.status,
        start_at = EXCLUDED.start_at, end_at = EXCLUDED.end_at,
        duration_seconds = EXCLUDED.duration_seconds, timezone = EXCLUDED.timezone,
        title = EXCLUDED.title, version = EXCLUDED.version, doc = EXCLUDED.doc,
        projected_at = EXCLUDED.projected_at
    WHERE a.version < EXCLUDED.version OR :force
    RETURNING a.id
    """
)
_DELETE_PARTICIPANTS = text("DELETE FROM participants WHERE appointment_id = :id")
_INSERT_PARTICIPANT = text(
    "INSERT INTO participants (appointment_id, participant_id, type) VALUES (:id, :participant_id, :type)"
)
# In asyncpg's parameter style: run by the driver itself (see `get`).
GET_DOC = "SELECT doc::text FROM appointments WHERE id = $1"
_VERSION = text("SELECT version FROM appointments WHERE id = :id")


async def write(conn: AsyncConnection, appointment: Appointment, *, force: bool = False) -> bool:
    """Project `appointment` within the transaction of `conn`, unless a newer version is there."""
    appointment_id = uuid.UUID(appointment.id)
    written = await conn.execute(
        _UPSERT,
        {
            "id": appointment_id,
            "application_id": appointment.application_id,
            "organizer_id": appointment.organizer.id,
            "organizer_type": appointment.organizer.type.value,
            "status": appointment.status.value,
            "start_at": appointment.start,
            "end_at": appointment.end,
            "duration_seconds": int(appointment.duration.total_seconds()),
            "timezone": appointment.timezone,
            "title": appointment.title,
            "version": appointment.version,
            "doc": msgspec.json.encode(appointment).decode(),
            "force": force,
        },
    )
    if written.first() is None:
        return False
    await conn.execute(_DELETE_PARTICIPANTS, {"id": appointment_id})
    if appointment.participants:
        await conn.execute(
            _INSERT_PARTICIPANT,
            [
                {"id": appointment_id, "participant_id": p.id, "type": p.type.value}
                for p in appointment.participants
            ],
        )
    return True


def parse_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


class AppointmentStore:
    def __init__(self, engine: AsyncEngine, *, reads: asyncpg.Pool | None = None) -> None:
        """`reads`: a pool of bare connections for `get` (the API's, `create_read_pool`)."""
        self._engine = engine
        self._reads = reads

    async def project(self, appointment: Appointment, *, force: bool = False) -> bool:
        """Write this version unless a newer one is already there; True when written.

        Retried or reordered projections are therefore harmless: the row only moves forward.
        `force` is the operator's repair (`appointments reproject --force`): the workflow's
        state replaces the row whatever version the row claims.
        """
        async with self._engine.begin() as conn:
            return await write(conn, appointment, force=force)

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
