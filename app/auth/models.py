"""managers and manager_tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Index, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.i18n import LANGUAGES
from app.core.orm import Base, CreatedAt, Timestamps, one_of

TOKEN_TYPES = ("refresh", "email_verification", "password_reset")


class Manager(Timestamps, Base):
    __tablename__ = "managers"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(Text)
    password_hash: Mapped[str] = mapped_column(Text)
    full_name: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(Text, server_default="en")
    timezone: Mapped[str] = mapped_column(Text, server_default="UTC")
    is_email_verified: Mapped[bool] = mapped_column(server_default=text("false"))
    # No index on is_suspended: the PRD owner decided so (it is read with the row by id).
    is_suspended: Mapped[bool] = mapped_column(server_default=text("false"))
    suspended_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(one_of("language", LANGUAGES), name="language"),
        CheckConstraint("email LIKE '%_@_%' AND char_length(email) <= 254", name="email"),
        CheckConstraint("char_length(full_name) BETWEEN 1 AND 200", name="full_name"),
        CheckConstraint("(suspended_at IS NOT NULL) = is_suspended", name="suspended_at"),
        Index("uq_managers_email_lower", func.lower(email), unique=True),
    )


class ManagerToken(CreatedAt, Base):
    __tablename__ = "manager_tokens"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    manager_id: Mapped[int] = mapped_column(
        ForeignKey("managers.id", ondelete="CASCADE"), index=True
    )
    token_type: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(Text, unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    family_id: Mapped[uuid.UUID | None]

    __table_args__ = (
        CheckConstraint(one_of("token_type", TOKEN_TYPES), name="token_type"),
        CheckConstraint("token_hash ~ '^[0-9a-f]{64}$'", name="token_hash_sha256"),
        CheckConstraint("token_type <> 'refresh' OR family_id IS NOT NULL", name="refresh_family"),
        Index("ix_manager_tokens_family_id", "family_id", postgresql_where="family_id IS NOT NULL"),
    )
