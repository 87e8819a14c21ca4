"""Per-application settings and the verification of an application's email service.

Settings are stored whole, as the `ApplicationSettings` struct in JSON; the verification
state lives beside them. Changing the mail settings (`mailFrom`, templates) does NOT reset
the verification: once an application's admin proved that mail reaches them, it stays
verified until verified again (kept simple on purpose).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import otp
from domain.notifications import ApplicationSettings, NotificationPolicy
from storage.database import driver_connection

# Run by the driver itself: it is read for every new appointment (see `get`).
_GET = (
    "SELECT doc::text AS doc, email_verified_at, verified_email "
    "FROM application_settings WHERE application_id = $1"
)
_PUT = text(
    """
    INSERT INTO application_settings AS s (application_id, doc, updated_at)
    VALUES (:app, CAST(:doc AS jsonb), now())
    ON CONFLICT (application_id) DO UPDATE SET doc = EXCLUDED.doc, updated_at = EXCLUDED.updated_at
    RETURNING s.doc::text AS doc, s.email_verified_at, s.verified_email
    """
)
_START = text(
    """
    INSERT INTO email_verifications AS v (application_id, to_email, code_hash, attempts, expires_at,
                                          created_at)
    VALUES (:app, :email, :hash, 0, :expires, now())
    ON CONFLICT (application_id) DO UPDATE SET
        to_email = EXCLUDED.to_email, code_hash = EXCLUDED.code_hash, attempts = 0,
        expires_at = EXCLUDED.expires_at, created_at = EXCLUDED.created_at
    """
)
_PENDING = text(
    "SELECT to_email, code_hash, attempts, expires_at FROM email_verifications "
    "WHERE application_id = :app FOR UPDATE"
)
_DROP = text("DELETE FROM email_verifications WHERE application_id = :app")
_FAIL = text("UPDATE email_verifications SET attempts = attempts + 1 WHERE application_id = :app")
_VERIFIED = text(
    """
    INSERT INTO application_settings AS s (application_id, doc, email_verified_at, verified_email,
                                           updated_at)
    VALUES (:app, CAST(:doc AS jsonb), :now, :email, now())
    ON CONFLICT (application_id) DO UPDATE SET
        email_verified_at = EXCLUDED.email_verified_at, verified_email = EXCLUDED.verified_email,
        updated_at = EXCLUDED.updated_at
    """
)

_DEFAULT_DOC = msgspec.json.encode(ApplicationSettings()).decode()


class StoredSettings(msgspec.Struct, frozen=True, kw_only=True):
    settings: ApplicationSettings
    email_verified: bool = False
    verified_email: str | None = None


class ConfirmOutcome(StrEnum):
    CONFIRMED = "CONFIRMED"
    # A wrong code; the pending verification stays, until MAX_ATTEMPTS wrong codes drop it.
    WRONG = "WRONG"
    # Nothing to confirm: never started, expired, already confirmed, or dropped after wrong codes.
    NONE_PENDING = "NONE_PENDING"


def _stored(row: Mapping[str, Any]) -> StoredSettings:
    return StoredSettings(
        settings=msgspec.json.decode(row["doc"], type=ApplicationSettings),
        email_verified=row["email_verified_at"] is not None,
        verified_email=row["verified_email"],
    )


class ApplicationStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, application_id: str) -> StoredSettings | None:
        """The application's settings; None when its admin never configured anything."""
        # On the driver's connection: one round trip, where SQLAlchemy's would wrap the select
        # in BEGIN and ROLLBACK.
        async with driver_connection(self._engine) as connection:
            row = await connection.fetchrow(_GET, application_id)
        return None if row is None else _stored(row)

    async def put(self, application_id: str, settings: ApplicationSettings) -> StoredSettings:
        """Replace the settings; the email verification is kept as it is."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    _PUT, {"app": application_id, "doc": msgspec.json.encode(settings).decode()}
                )
            ).one()
        return _stored(row._mapping)

    async def start_verification(
        self, application_id: str, to_email: str, code_hash: str, expires_at: datetime
    ) -> None:
        """Store a new pending verification, replacing any earlier one of the application."""
        async with self._engine.begin() as conn:
            await conn.execute(
                _START, {"app": application_id, "email": to_email, "hash": code_hash, "expires": expires_at}
            )

    async def confirm_verification(
        self, application_id: str, matches: Callable[[str, str], bool], now: datetime
    ) -> ConfirmOutcome:
        """Check a code against the pending verification.

        `matches(code_hash, to_email)` says whether the submitted code is the one hashed for
        that address. The row is locked, so concurrent tries are counted one by one; the
        MAX_ATTEMPTS-th wrong code drops the verification.
        """
        params = {"app": application_id}
        async with self._engine.begin() as conn:
            row = (await conn.execute(_PENDING, params)).first()
            if row is None:
                return ConfirmOutcome.NONE_PENDING
            if row.expires_at <= now or row.attempts >= otp.MAX_ATTEMPTS:
                await conn.execute(_DROP, params)
                return ConfirmOutcome.NONE_PENDING
            if matches(row.code_hash, row.to_email):
                await conn.execute(_DROP, params)
                await conn.execute(
                    _VERIFIED, {**params, "doc": _DEFAULT_DOC, "now": now, "email": row.to_email}
                )
                return ConfirmOutcome.CONFIRMED
            if row.attempts + 1 >= otp.MAX_ATTEMPTS:
                await conn.execute(_DROP, params)
            else:
                await conn.execute(_FAIL, params)
            return ConfirmOutcome.WRONG

    async def policy_for(self, application_id: str) -> NotificationPolicy:
        """The snapshot an appointment of this application is scheduled with."""
        stored = await self.get(application_id)
        if stored is None:
            return NotificationPolicy()
        settings = stored.settings
        return NotificationPolicy(
            active=settings.notifications_active and stored.email_verified,
            auto_activate=settings.auto_activate,
            mail_from=settings.sender(stored.verified_email),
            room_base_url=settings.room_base_url,
            templates=settings.templates,
        )
