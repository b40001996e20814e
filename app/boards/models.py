"""boards and board_keywords."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Index, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.orm import Base, CreatedAt, Timestamps, one_of

PLATFORMS = ("jira", "trello")


class Board(Timestamps, Base):
    __tablename__ = "boards"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # RESTRICT: boards are never deleted (their tickets stay), so neither is their manager.
    # Indexed by uq_boards_manager_name_lower (its leading column).
    manager_id: Mapped[int] = mapped_column(ForeignKey("managers.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    public_id: Mapped[str] = mapped_column(Text, unique=True)
    # SET NULL: deleting an inbox unlinks its boards.
    email_inbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("email_inboxes.id", ondelete="SET NULL"), index=True
    )
    external_platform: Mapped[str | None] = mapped_column(Text)
    # none_as_null: None is SQL NULL (not JSON null), as the CHECK on the platform expects.
    external_config: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    archived_at: Mapped[datetime | None]

    # Read-only view: keywords are written by replacing the rows (boards/service.py).
    keywords: Mapped[list[BoardKeyword]] = relationship(
        viewonly=True, lazy="selectin", order_by="BoardKeyword.id"
    )

    __table_args__ = (
        CheckConstraint(one_of("external_platform", PLATFORMS), name="external_platform"),
        CheckConstraint(
            "(external_platform IS NULL) = (external_config IS NULL)", name="external_config"
        ),
        CheckConstraint("char_length(name) BETWEEN 1 AND 200", name="name"),
        CheckConstraint("char_length(description) <= 5000", name="description"),
        # 128 bits of randomness in URL-safe base64 is 22 characters.
        CheckConstraint("char_length(public_id) >= 22", name="public_id"),
        CheckConstraint("is_active OR archived_at IS NOT NULL", name="archived_at"),
        Index("uq_boards_manager_name_lower", "manager_id", func.lower(name), unique=True),
    )


class BoardKeyword(CreatedAt, Base):
    __tablename__ = "board_keywords"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    keyword: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("char_length(keyword) BETWEEN 1 AND 100", name="keyword_length"),
        CheckConstraint("keyword = btrim(keyword)", name="keyword_trimmed"),
        # Also serves as the index on board_id (its leading column).
        Index(
            "uq_board_keywords_board_keyword_lower", "board_id", func.lower(keyword), unique=True
        ),
    )
