"""The dashboard's source filter gets an index of its own: `source=email` walked a
board's newest tickets one by one until it had a page, through every report of a
flood from the public form (docs/performance.md, eighth round).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 10:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tickets_board_source_created",
        "tickets",
        ["board_id", "source", sa.text("created_at DESC"), sa.text("id DESC")],
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_board_source_created", table_name="tickets")
