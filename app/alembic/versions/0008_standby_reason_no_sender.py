"""Mail whose sender cannot be found in From, Sender, Reply-To or Return-Path waits in
standby with reason no_sender (it was `unreadable`, which now means the message itself
could not be read).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 19:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
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
    "too_large",
)
AFTER = (*BEFORE, "no_sender")


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
    op.execute("UPDATE standby_queue_items SET reason = 'unreadable' WHERE reason = 'no_sender'")
    _check(BEFORE)
