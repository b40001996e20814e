"""A failed forward converted into an internal ticket names that ticket.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 01:13:57.067770+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "external_tickets", sa.Column("converted_ticket_id", sa.BigInteger(), nullable=True)
    )
    op.create_index(
        op.f("ix_external_tickets_converted_ticket_id"),
        "external_tickets",
        ["converted_ticket_id"],
        unique=False,
    )
    op.create_foreign_key(
        op.f("fk_external_tickets_converted_ticket_id_tickets"),
        "external_tickets",
        "tickets",
        ["converted_ticket_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_external_tickets_converted_ticket_id_tickets"),
        "external_tickets",
        type_="foreignkey",
    )
    op.drop_index(op.f("ix_external_tickets_converted_ticket_id"), table_name="external_tickets")
    op.drop_column("external_tickets", "converted_ticket_id")
