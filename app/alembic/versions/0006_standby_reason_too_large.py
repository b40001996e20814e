"""Mail larger than MAX_MESSAGE_BYTES waits in standby with reason too_large.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 11:30:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = (
    "no_match",
    "ambiguous",
    "board_inactive",
    "no_board",
    "reply_to_ticket",
    "unreadable",
    "platform_error",
)
AFTER = (*BEFORE, "too_large")


def _check(reasons: tuple[str, ...]) -> None:
    op.drop_constraint(op.f("ck_standby_queue_items_reason"), "standby_queue_items", type_="check")
    op.create_check_constraint(
        "reason",
        "standby_queue_items",
        f"reason IN ({', '.join(repr(r) for r in reasons)})",
    )


def upgrade() -> None:
    _check(AFTER)


def downgrade() -> None:
    op.execute("UPDATE standby_queue_items SET reason = 'unreadable' WHERE reason = 'too_large'")
    _check(BEFORE)
