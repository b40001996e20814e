"""Outbox mail names the report it is about, so replies to it can be recognised.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 00:48:17.207318+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outgoing_emails", sa.Column("ticket_uuid", sa.Uuid(), nullable=True))


def downgrade() -> None:
    op.drop_column("outgoing_emails", "ticket_uuid")
