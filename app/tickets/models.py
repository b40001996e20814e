"""tickets and ticket_status_changes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    ForeignKey,
    Identity,
    Index,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from app.core.i18n import LANGUAGES
from app.core.orm import Base, CreatedAt, Timestamps, one_of, stamped

SOURCES = ("web", "email")
NO_SUBJECT = "(no subject)"  # the title of a report that came without one

STATES = ("new", "in_progress", "closed", "rejected")
FINAL_STATES = ("closed", "rejected")
TITLE_MAX = 255
DESCRIPTION_MAX = 20_000


class Ticket(Timestamps, Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    reporter_email: Mapped[str] = mapped_column(Text)
    reporter_name: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default="new")
    language: Mapped[str] = mapped_column(Text, server_default="en")
    email_message_id: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None]
    # Full-text search over title + description. The 'simple' configuration lowercases
    # without stemming, which suits Polish and English alike (stock PostgreSQL has no
    # Polish stemmer).
    search_vector: Mapped[str] = mapped_column(
        TSVECTOR,
        Computed("to_tsvector('simple'::regconfig, title || ' ' || description)", persisted=True),
        deferred=True,
    )

    __table_args__ = (
        CheckConstraint(one_of("state", STATES), name="state"),
        CheckConstraint(one_of("source", SOURCES), name="source"),
        CheckConstraint(one_of("language", LANGUAGES), name="language"),
        CheckConstraint(f"char_length(title) BETWEEN 1 AND {TITLE_MAX}", name="title"),
        CheckConstraint(f"char_length(description) <= {DESCRIPTION_MAX}", name="description"),
        CheckConstraint("reporter_email LIKE '%_@_%'", name="reporter_email"),
        CheckConstraint(
            "(closed_at IS NOT NULL) = (state IN ('closed', 'rejected'))", name="closed_at"
        ),
        # The dashboard's list: one board, optionally one state, newest first, keyset by id.
        Index("ix_tickets_board_created", "board_id", text("created_at DESC"), text("id DESC")),
        Index(
            "ix_tickets_board_state_created",
            "board_id",
            "state",
            text("created_at DESC"),
            text("id DESC"),
        ),
        # Filtered by source: a flood from the public form otherwise stands between the
        # dashboard and a board's newest e-mail reports, walked row by row.
        Index(
            "ix_tickets_board_source_created",
            "board_id",
            "source",
            text("created_at DESC"),
            text("id DESC"),
        ),
        Index("ix_tickets_search_vector", "search_vector", postgresql_using="gin"),
        # Replies to our mail are matched by the Message-ID the ticket came with.
        Index(
            "ix_tickets_email_message_id",
            "email_message_id",
            postgresql_where="email_message_id IS NOT NULL",
        ),
    )


class TicketStatusChange(CreatedAt, Base):
    __tablename__ = "ticket_status_changes"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    from_state: Mapped[str | None] = mapped_column(Text)
    to_state: Mapped[str] = mapped_column(Text)
    # SET NULL keeps the audit row should a manager row ever go; null also means "the system".
    changed_by_manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("managers.id", ondelete="SET NULL"), index=True
    )
    comment: Mapped[str | None] = mapped_column(Text)
    internal_note: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = stamped()

    __table_args__ = (
        CheckConstraint(one_of("from_state", STATES), name="from_state"),
        CheckConstraint(one_of("to_state", STATES), name="to_state"),
        CheckConstraint("from_state IS DISTINCT FROM to_state", name="changes_state"),
        CheckConstraint("char_length(comment) <= 5000", name="comment"),
        CheckConstraint("char_length(internal_note) <= 5000", name="internal_note"),
        Index("ix_ticket_status_changes_ticket_changed", "ticket_id", "changed_at"),
    )
