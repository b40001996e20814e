"""external_tickets: reports forwarded one-way to Jira Cloud or Trello."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Index, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.boards.models import PLATFORMS
from app.core.i18n import LANGUAGES
from app.core.orm import Base, Timestamps, one_of
from app.tickets.models import DESCRIPTION_MAX, SOURCES, TITLE_MAX

EXTERNAL_STATUSES = ("pending", "created", "failed")


class ExternalTicket(Timestamps, Base):
    __tablename__ = "external_tickets"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="RESTRICT"))
    platform: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(Text)
    external_url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    reporter_email: Mapped[str] = mapped_column(Text)
    reporter_name: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(Text, server_default="en")
    email_message_id: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    pushed_at: Mapped[datetime | None]
    # Forwarder state: attempts so far, when to try next, who holds it until when.
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # Set when a failed forward became an internal ticket (same UUID: the reporter's
    # link shows the ticket from then on).
    converted_ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True
    )

    __table_args__ = (
        CheckConstraint(one_of("platform", PLATFORMS), name="platform"),
        CheckConstraint(one_of("status", EXTERNAL_STATUSES), name="status"),
        CheckConstraint(one_of("source", SOURCES), name="source"),
        CheckConstraint(one_of("language", LANGUAGES), name="language"),
        CheckConstraint(f"char_length(title) BETWEEN 1 AND {TITLE_MAX}", name="title"),
        CheckConstraint(f"char_length(description) <= {DESCRIPTION_MAX}", name="description"),
        CheckConstraint("reporter_email LIKE '%_@_%'", name="reporter_email"),
        CheckConstraint(
            "status <> 'created' OR (external_id IS NOT NULL AND pushed_at IS NOT NULL)",
            name="created_has_id",
        ),
        Index(
            "ix_external_tickets_board_created",
            "board_id",
            text("created_at DESC"),
            text("id DESC"),
        ),
        # The forwarder claims pending rows that are due.
        Index(
            "ix_external_tickets_due",
            "next_attempt_at",
            postgresql_where="status = 'pending'",
        ),
    )
