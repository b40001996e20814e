"""email_inboxes: a manager's mailbox, its IMAP/SMTP settings and polling state."""

from __future__ import annotations

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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.orm import Base, Timestamps, one_of

SECURITY_MODES = ("ssl", "starttls", "none")
# Associated data of the encrypted passwords: a value moved to another column fails.
IMAP_PASSWORD_CONTEXT = "email_inboxes.imap_password"
SMTP_PASSWORD_CONTEXT = "email_inboxes.smtp_password"


class EmailInbox(Timestamps, Base):
    __tablename__ = "email_inboxes"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # Indexed by the unique (manager_id, name) constraint (its leading column).
    manager_id: Mapped[int] = mapped_column(ForeignKey("managers.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    email_address: Mapped[str] = mapped_column(Text)

    imap_host: Mapped[str] = mapped_column(Text)
    imap_port: Mapped[int] = mapped_column(Integer, server_default="993")
    imap_security: Mapped[str] = mapped_column(Text, server_default="ssl")
    imap_username: Mapped[str | None] = mapped_column(Text)
    imap_password_encrypted: Mapped[str | None] = mapped_column(Text)
    imap_folder: Mapped[str] = mapped_column(Text, server_default="INBOX")

    # SMTP is optional: without it, replies go through the system SMTP settings.
    smtp_host: Mapped[str | None] = mapped_column(Text)
    smtp_port: Mapped[int] = mapped_column(Integer, server_default="587")
    smtp_security: Mapped[str] = mapped_column(Text, server_default="starttls")
    smtp_username: Mapped[str | None] = mapped_column(Text)
    smtp_password_encrypted: Mapped[str | None] = mapped_column(Text)

    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    poll_interval_seconds: Mapped[int] = mapped_column(Integer, server_default="60")

    # Polling state.
    # Raised whenever the IMAP settings change: a session started under an older
    # version writes nothing more and ends (app/workers/inbox_poller.py).
    settings_version: Mapped[int] = mapped_column(Integer, server_default="0")
    uid_validity: Mapped[int | None] = mapped_column(BigInteger)
    last_seen_uid: Mapped[int | None] = mapped_column(BigInteger)
    next_poll_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(Text)

    # Health.
    last_polled_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(one_of("imap_security", SECURITY_MODES), name="imap_security"),
        CheckConstraint(one_of("smtp_security", SECURITY_MODES), name="smtp_security"),
        CheckConstraint("imap_port BETWEEN 1 AND 65535", name="imap_port"),
        CheckConstraint("smtp_port BETWEEN 1 AND 65535", name="smtp_port"),
        CheckConstraint("poll_interval_seconds BETWEEN 10 AND 86400", name="poll_interval"),
        CheckConstraint("char_length(name) BETWEEN 1 AND 200", name="name"),
        CheckConstraint("email_address LIKE '%_@_%'", name="email_address"),
        UniqueConstraint("manager_id", "name"),
        # The poller claims due, active inboxes in next_poll_at order.
        Index("ix_email_inboxes_due", "next_poll_at", postgresql_where="is_active"),
    )
