"""The list and count indexes cover every column their queries filter, sort or count on.

At 1,000,000 appointments an application's rows lie on as many heap pages as they are rows:
a count or a page that must read `status`, `duration_seconds` or the sort key from the heap
reads thousands of pages. Covered, the counts are index-only scans, and a page reads the heap
for its own rows only (storage.queries.page_statement). `id` is a key column so that the index
order is the list's order, its tie-break included.

A title-sorted list of a whole application would still sort its 10,000 rows to keep a page:
the title indexes hand them over in order, one per direction, since titles sort NULLS LAST
both ways and a backward scan would put them first.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Rebuilt covering under their own names: (key columns, included columns).
_COVERING = {
    "ix_appointments_app_start": (
        ["application_id", "start_at", "id"],
        ["status", "end_at", "duration_seconds", "timezone", "title"],
    ),
    "ix_appointments_app_organizer_start": (
        ["application_id", "organizer_id", "start_at", "id"],
        ["status", "end_at", "duration_seconds", "title"],
    ),
}


def upgrade() -> None:
    for name, (columns, include) in _COVERING.items():
        op.create_index(f"{name}_new", "appointments", columns, postgresql_include=include)
    op.create_index(
        "ix_appointments_app_title",
        "appointments",
        ["application_id", "title", "id"],
        postgresql_include=["status", "start_at", "duration_seconds"],
    )
    op.create_index(
        "ix_appointments_app_title_desc",
        "appointments",
        ["application_id", sa.text("title DESC NULLS LAST"), sa.text("id DESC")],
        postgresql_include=["status", "start_at", "duration_seconds"],
    )
    # Last: the builds only hold off writes (projections retry), but a DROP INDEX locks the
    # readers out until the migration commits.
    for name in _COVERING:
        op.drop_index(name, table_name="appointments")
        op.execute(f"ALTER INDEX {name}_new RENAME TO {name}")


def downgrade() -> None:
    op.drop_index("ix_appointments_app_title_desc", table_name="appointments")
    op.drop_index("ix_appointments_app_title", table_name="appointments")
    op.drop_index("ix_appointments_app_organizer_start", table_name="appointments")
    op.drop_index("ix_appointments_app_start", table_name="appointments")
    op.create_index("ix_appointments_app_start", "appointments", ["application_id", "start_at"])
    op.create_index(
        "ix_appointments_app_organizer_start", "appointments", ["application_id", "organizer_id", "start_at"]
    )
