"""Outbox mail sent through an inbox's own SMTP, and sends in flight (at most once).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 00:53:20.738387+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outgoing_emails", sa.Column("email_inbox_id", sa.BigInteger(), nullable=True))
    op.add_column(
        "outgoing_emails", sa.Column("sending_since", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        op.f("ix_outgoing_emails_email_inbox_id"),
        "outgoing_emails",
        ["email_inbox_id"],
        unique=False,
    )
    op.create_foreign_key(
        op.f("fk_outgoing_emails_email_inbox_id_email_inboxes"),
        "outgoing_emails",
        "email_inboxes",
        ["email_inbox_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_outgoing_emails_email_inbox_id_email_inboxes"),
        "outgoing_emails",
        type_="foreignkey",
    )
    op.drop_index(op.f("ix_outgoing_emails_email_inbox_id"), table_name="outgoing_emails")
    op.drop_column("outgoing_emails", "sending_since")
    op.drop_column("outgoing_emails", "email_inbox_id")
