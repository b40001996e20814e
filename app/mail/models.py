"""processed_emails (one row per distinct message seen per inbox) and the outbox."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import LANGUAGES, Base, CreatedAt, Timestamps, one_of

OUTCOMES = ("ticket", "external", "standby", "ignored_autoreply", "ignored_bounce", "error")


class ProcessedEmail(CreatedAt, Base):
    __tablename__ = "processed_emails"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # CASCADE: the record only serves de-duplication for its inbox; tickets and
    # standby items it produced stay.
    email_inbox_id: Mapped[int] = mapped_column(ForeignKey("email_inboxes.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(Text)
    imap_uid: Mapped[int | None] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(Text)
    ticket_uuid: Mapped[uuid.UUID | None]
    standby_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("standby_queue_items.id", ondelete="SET NULL"), index=True
    )
    processed_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint(one_of("outcome", OUTCOMES), name="outcome"),
        CheckConstraint("content_hash ~ '^[0-9a-f]{64}$'", name="content_hash_sha256"),
        CheckConstraint("char_length(message_id) BETWEEN 1 AND 998", name="message_id"),
        # The de-duplication key; also the index on email_inbox_id (its leading column).
        UniqueConstraint("email_inbox_id", "message_id", "content_hash"),
    )


OUTGOING_STATUSES = ("pending", "sent", "failed")


class OutgoingEmail(Timestamps, Base):
    """The outbox: mail is written here in the transaction that causes it and sent by
    a worker after commit, so a rollback sends nothing and a crash loses nothing."""

    __tablename__ = "outgoing_emails"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    to_address: Mapped[str] = mapped_column(Text)
    # None: the system sender (SMTP_FROM); later, an inbox's own address.
    from_address: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    # Bodies that carry a secret link are stored encrypted and wiped once sent.
    is_sensitive: Mapped[bool] = mapped_column(server_default=text("false"))
    headers: Mapped[dict[str, str]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    message_id: Mapped[str] = mapped_column(Text, unique=True)
    language: Mapped[str] = mapped_column(Text, server_default="en")
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("managers.id", ondelete="CASCADE"), index=True
    )
    # Sent through this inbox's own SMTP server (else the system's), from its address.
    email_inbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("email_inboxes.id", ondelete="SET NULL"), index=True
    )
    # The report (ticket or external ticket) a mail to its reporter is about: replies
    # naming this mail's Message-ID are recognised as replies to that report.
    ticket_uuid: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    lease_until: Mapped[datetime | None]
    # Set (and committed) just before the SMTP conversation, cleared after it. Still set
    # when the lease runs out means a crash mid-send: the mail is not sent again, so
    # nobody gets it twice.
    sending_since: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(one_of("status", OUTGOING_STATUSES), name="status"),
        CheckConstraint(one_of("language", LANGUAGES), name="language"),
        CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="sent_at"),
        Index("ix_outgoing_emails_due", "next_attempt_at", postgresql_where="status = 'pending'"),
        # The per-recipient cap counts recent mail to one address.
        Index("ix_outgoing_emails_recipient", func.lower(to_address), "created_at"),
    )
