"""standby_queue_items: what could not be placed, waiting for its manager."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Index, Integer, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.orm import Base, Timestamps, one_of

KINDS = ("unrouted_email", "failed_external")
REASONS = (
    "no_match",
    "ambiguous",
    "board_inactive",
    "no_board",
    "reply_to_ticket",
    "unreadable",
    "platform_error",
    "too_large",
    "no_sender",
)
STANDBY_STATUSES = ("pending", "resolved", "discarded")


class StandbyQueueItem(Timestamps, Base):
    __tablename__ = "standby_queue_items"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # RESTRICT like boards: the items hold reporters' mail and are not dropped silently.
    manager_id: Mapped[int] = mapped_column(
        ForeignKey("managers.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    # SET NULL: deleting an inbox keeps the standby items it produced.
    email_inbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("email_inboxes.id", ondelete="SET NULL"), index=True
    )
    external_ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("external_tickets.id", ondelete="RESTRICT"), index=True
    )
    # The ticket a reply (reason reply_to_ticket) refers to.
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    retry_count: Mapped[int] = mapped_column(Integer, server_default="0")
    next_retry_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[int | None] = mapped_column(
        ForeignKey("managers.id", ondelete="SET NULL"), index=True
    )

    __table_args__ = (
        CheckConstraint(one_of("kind", KINDS), name="kind"),
        CheckConstraint(one_of("reason", REASONS), name="reason"),
        CheckConstraint(one_of("status", STANDBY_STATUSES), name="status"),
        CheckConstraint(
            "kind <> 'failed_external' OR external_ticket_id IS NOT NULL",
            name="failed_external_ticket",
        ),
        CheckConstraint("(status = 'pending') = (resolved_at IS NULL)", name="resolved_at"),
        CheckConstraint("retry_count >= 0", name="retry_count"),
        # The manager's queue: pending items, oldest first.
        Index(
            "ix_standby_queue_items_pending",
            "manager_id",
            "created_at",
            postgresql_where="status = 'pending'",
        ),
    )
