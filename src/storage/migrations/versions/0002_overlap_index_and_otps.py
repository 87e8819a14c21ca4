"""GiST index for overlap counting; one-time passwords of customer self-scheduling.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # btree_gist lets one GiST index hold the tenant (equality) and the time range (overlap).
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(
        "CREATE INDEX ix_appointments_open_during ON appointments "
        "USING gist (application_id, tstzrange(start_at, end_at, '[)')) "
        "WHERE status IN ('SCHEDULED', 'ACTIVATED')"
    )
    op.create_table(
        "customer_otps",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("application_id", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("code_hash", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_customer_otps_app_email", "customer_otps", ["application_id", "email", "created_at"])


def downgrade() -> None:
    op.drop_table("customer_otps")
    op.execute("DROP INDEX IF EXISTS ix_appointments_open_during")
