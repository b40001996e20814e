"""An inbox's IMAP settings carry a version, so a session started with older settings
stops writing once they change.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 12:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "email_inboxes",
        sa.Column("settings_version", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("email_inboxes", "settings_version")
