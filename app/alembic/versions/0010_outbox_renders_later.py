"""A reporter's mail is queued unrendered: its template's values in template_values,
its subject, bodies and Message-ID filled in by the mail worker when it claims it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 03:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RENDERED = (
    "template_values IS NOT NULL"
    " OR (subject IS NOT NULL AND text_body IS NOT NULL AND message_id IS NOT NULL)"
)


def upgrade() -> None:
    op.add_column(
        "outgoing_emails",
        sa.Column("template_values", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    for column in ("subject", "text_body", "message_id"):
        op.alter_column("outgoing_emails", column, existing_type=sa.Text(), nullable=True)
    op.create_check_constraint(op.f("ck_outgoing_emails_rendered"), "outgoing_emails", _RENDERED)


def downgrade() -> None:
    # Mail still waiting to be rendered cannot be kept by the older schema: it is
    # marked failed with empty content rather than dropped silently.
    op.execute(
        "UPDATE outgoing_emails SET subject = coalesce(subject, ''),"
        " text_body = coalesce(text_body, ''),"
        " message_id = coalesce(message_id, '<unrendered-' || id || '@localhost>'),"
        " status = CASE WHEN status = 'pending' THEN 'failed' ELSE status END,"
        " last_error = CASE WHEN status = 'pending'"
        " THEN 'not rendered before a downgrade' ELSE last_error END"
        " WHERE template_values IS NOT NULL AND subject IS NULL"
    )
    op.drop_constraint(op.f("ck_outgoing_emails_rendered"), "outgoing_emails", type_="check")
    for column in ("subject", "text_body", "message_id"):
        op.alter_column("outgoing_emails", column, existing_type=sa.Text(), nullable=False)
    op.drop_column("outgoing_emails", "template_values")
