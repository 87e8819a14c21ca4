"""Read model: appointments and their participants.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("application_id", sa.Text(), nullable=False),
        sa.Column("organizer_id", sa.Text(), nullable=False),
        sa.Column("organizer_type", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("doc", postgresql.JSONB(), nullable=False),
        sa.Column(
            "projected_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
    )
    op.create_index("ix_appointments_app_start", "appointments", ["application_id", "start_at"])
    op.create_index(
        "ix_appointments_app_organizer_start", "appointments", ["application_id", "organizer_id", "start_at"]
    )
    op.create_table(
        "participants",
        sa.Column(
            "appointment_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("appointments.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("participant_id", sa.Text(), primary_key=True),
        sa.Column("type", sa.Text(), nullable=False),
    )
    op.create_index("ix_participants_participant", "participants", ["participant_id", "type"])


def downgrade() -> None:
    op.drop_table("participants")
    op.drop_table("appointments")
