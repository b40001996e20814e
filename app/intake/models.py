"""processed_emails: one row per distinct message seen per inbox, so none is taken twice."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.orm import Base, CreatedAt, one_of, stamped

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
    processed_at: Mapped[datetime] = stamped()

    __table_args__ = (
        CheckConstraint(one_of("outcome", OUTCOMES), name="outcome"),
        CheckConstraint("content_hash ~ '^[0-9a-f]{64}$'", name="content_hash_sha256"),
        CheckConstraint("char_length(message_id) BETWEEN 1 AND 998", name="message_id"),
        # The de-duplication key; also the index on email_inbox_id (its leading column).
        UniqueConstraint("email_inbox_id", "message_id", "content_hash"),
    )
