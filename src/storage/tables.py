"""Read-model tables. The workflow is the source of truth; these rows are its projection.

`doc` holds the whole appointment as the workflow last projected it; the other columns are
there to be filtered, sorted and indexed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Identity, Index, Integer, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class AppointmentRow(Base):
    __tablename__ = "appointments"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    application_id: Mapped[str] = mapped_column(Text)
    organizer_id: Mapped[str] = mapped_column(Text)
    organizer_type: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    start_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_seconds: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(BigInteger)
    doc: Mapped[dict[str, Any]] = mapped_column(JSONB)
    projected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))

    __table_args__ = (
        # Covering: the list and count queries read no other column (storage.queries).
        Index(
            "ix_appointments_app_start",
            "application_id",
            "start_at",
            "id",
            postgresql_include=["status", "end_at", "duration_seconds", "timezone", "title"],
        ),
        Index(
            "ix_appointments_app_organizer_start",
            "application_id",
            "organizer_id",
            "start_at",
            "id",
            postgresql_include=["status", "end_at", "duration_seconds", "title"],
        ),
        # Titles sort NULLS LAST both ways, which a backward scan cannot give: one per direction.
        Index(
            "ix_appointments_app_title",
            "application_id",
            "title",
            "id",
            postgresql_include=["status", "start_at", "duration_seconds"],
        ),
        Index(
            "ix_appointments_app_title_desc",
            "application_id",
            text("title DESC NULLS LAST"),
            text("id DESC"),
            postgresql_include=["status", "start_at", "duration_seconds"],
        ),
        Index(
            "ix_appointments_open_during",
            "application_id",
            text("tstzrange(start_at, end_at, '[)')"),
            postgresql_using="gist",
            postgresql_where=text("status IN ('SCHEDULED', 'ACTIVATED')"),
        ),
    )


class CustomerOtpRow(Base):
    __tablename__ = "customer_otps"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    application_id: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(Text)
    code_hash: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_customer_otps_app_email", "application_id", "email", "created_at"),)


class ParticipantRow(Base):
    __tablename__ = "participants"

    appointment_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("appointments.id", ondelete="CASCADE"), primary_key=True
    )
    participant_id: Mapped[str] = mapped_column(Text, primary_key=True)
    type: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_participants_participant", "participant_id", "type"),)


class ApplicationSettingsRow(Base):
    __tablename__ = "application_settings"

    application_id: Mapped[str] = mapped_column(Text, primary_key=True)
    # domain.notifications.ApplicationSettings as JSON.
    doc: Mapped[dict[str, Any]] = mapped_column(JSONB)
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verified_email: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))


class EmailVerificationRow(Base):
    """The pending email service verification of an application (at most one)."""

    __tablename__ = "email_verifications"

    application_id: Mapped[str] = mapped_column(Text, primary_key=True)
    to_email: Mapped[str] = mapped_column(Text)
    code_hash: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))


class WebhookRow(Base):
    """A webhook subscription of an application; `secret` signs its deliveries."""

    __tablename__ = "webhooks"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    application_id: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    # EventType names, or "*" for every event.
    events: Mapped[list[str]] = mapped_column(ARRAY(Text))
    secret: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, str]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))

    __table_args__ = (Index("ix_webhooks_application", "application_id"),)


class WebhookDeliveryRow(Base):
    """One attempt to deliver one event to one subscription."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    webhook_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("webhooks.id", ondelete="CASCADE")
    )
    event_id: Mapped[str] = mapped_column(Text)
    event_type: Mapped[str] = mapped_column(Text)
    appointment_id: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(BigInteger)
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))

    __table_args__ = (
        Index("ix_webhook_deliveries_webhook_attempted", "webhook_id", text("attempted_at DESC")),
    )


class RateLimitHitRow(Base):
    """Requests counted against one limit and subject in one fixed window (UNLOGGED)."""

    __tablename__ = "rate_limit_hits"

    bucket: Mapped[str] = mapped_column(Text, primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)

    __table_args__ = ({"prefixes": ["UNLOGGED"]},)


class IdempotencyKeyRow(Base):
    """The request that first used an Idempotency-Key, by the id the key stands for."""

    __tablename__ = "idempotency_keys"

    resource_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))

    __table_args__ = (Index("ix_idempotency_keys_created", "created_at"),)


class WebhookEventRow(Base):
    """The body of one announced change, as every subscription that wants it is sent it."""

    __tablename__ = "webhook_events"

    event_id: Mapped[str] = mapped_column(Text, primary_key=True)
    application_id: Mapped[str] = mapped_column(Text)
    appointment_id: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))

    __table_args__ = (Index("ix_webhook_events_created", "created_at"),)
