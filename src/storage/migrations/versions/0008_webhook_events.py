"""What each webhook receiver is sent, recorded with the change it announces.

The workflow's queues name events by id; the body (the appointment as it was recorded with the
change) is here, kept for `storage.webhooks.EVENT_RETENTION`, past the day after which a delivery
is given up.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_events",
        sa.Column("event_id", sa.Text(), primary_key=True),
        sa.Column("application_id", sa.Text(), nullable=False),
        sa.Column("appointment_id", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
    )
    op.create_index("ix_webhook_events_created", "webhook_events", ["created_at"])


def downgrade() -> None:
    op.drop_table("webhook_events")
