"""outgoing_emails: the outbox every mail the system sends waits in."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.i18n import LANGUAGES
from app.core.orm import Base, Timestamps, one_of, stamped

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
    # Subject, bodies and Message-ID are None while the mail waits to be rendered:
    # a reporter's mail is queued with its template's values (`template_values`) and
    # rendered by the mail worker when it first claims it (docs/architecture.md).
    subject: Mapped[str | None] = mapped_column(Text)
    text_body: Mapped[str | None] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    # Bodies that carry a secret link are stored encrypted and wiped once sent.
    is_sensitive: Mapped[bool] = mapped_column(server_default=text("false"))
    headers: Mapped[dict[str, str]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    message_id: Mapped[str | None] = mapped_column(Text, unique=True)
    # {"values": the template's values, "subject_suffix": text after the subject}
    template_values: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
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
    next_attempt_at: Mapped[datetime] = stamped()
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
        CheckConstraint(
            "template_values IS NOT NULL"
            " OR (subject IS NOT NULL AND text_body IS NOT NULL AND message_id IS NOT NULL)",
            name="rendered",
        ),
        Index("ix_outgoing_emails_due", "next_attempt_at", postgresql_where="status = 'pending'"),
        # The per-recipient cap counts recent mail to one address.
        Index("ix_outgoing_emails_recipient", func.lower(to_address), "created_at"),
    )
