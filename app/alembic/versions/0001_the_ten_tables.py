"""The ten tables of the PRD with their constraints and indexes.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 00:33:04.399683+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "managers",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), server_default="en", nullable=False),
        sa.Column("timezone", sa.Text(), server_default="UTC", nullable=False),
        sa.Column(
            "is_email_verified", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("is_suspended", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "email LIKE '%_@_%' AND char_length(email) <= 254", name=op.f("ck_managers_email")
        ),
        sa.CheckConstraint("language IN ('en', 'pl')", name=op.f("ck_managers_language")),
        sa.CheckConstraint(
            "(suspended_at IS NOT NULL) = is_suspended", name=op.f("ck_managers_suspended_at")
        ),
        sa.CheckConstraint(
            "char_length(full_name) BETWEEN 1 AND 200", name=op.f("ck_managers_full_name")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_managers")),
    )
    op.create_index(
        "uq_managers_email_lower", "managers", [sa.literal_column("lower(email)")], unique=True
    )
    op.create_table(
        "email_inboxes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("manager_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email_address", sa.Text(), nullable=False),
        sa.Column("imap_host", sa.Text(), nullable=False),
        sa.Column("imap_port", sa.Integer(), server_default="993", nullable=False),
        sa.Column("imap_security", sa.Text(), server_default="ssl", nullable=False),
        sa.Column("imap_username", sa.Text(), nullable=True),
        sa.Column("imap_password_encrypted", sa.Text(), nullable=True),
        sa.Column("imap_folder", sa.Text(), server_default="INBOX", nullable=False),
        sa.Column("smtp_host", sa.Text(), nullable=True),
        sa.Column("smtp_port", sa.Integer(), server_default="587", nullable=False),
        sa.Column("smtp_security", sa.Text(), server_default="starttls", nullable=False),
        sa.Column("smtp_username", sa.Text(), nullable=True),
        sa.Column("smtp_password_encrypted", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("poll_interval_seconds", sa.Integer(), server_default="60", nullable=False),
        sa.Column("uid_validity", sa.BigInteger(), nullable=True),
        sa.Column("last_seen_uid", sa.BigInteger(), nullable=True),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.Text(), nullable=True),
        sa.Column("last_polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "email_address LIKE '%_@_%'", name=op.f("ck_email_inboxes_email_address")
        ),
        sa.CheckConstraint(
            "imap_security IN ('ssl', 'starttls', 'none')",
            name=op.f("ck_email_inboxes_imap_security"),
        ),
        sa.CheckConstraint(
            "smtp_security IN ('ssl', 'starttls', 'none')",
            name=op.f("ck_email_inboxes_smtp_security"),
        ),
        sa.CheckConstraint(
            "char_length(name) BETWEEN 1 AND 200", name=op.f("ck_email_inboxes_name")
        ),
        sa.CheckConstraint(
            "imap_port BETWEEN 1 AND 65535", name=op.f("ck_email_inboxes_imap_port")
        ),
        sa.CheckConstraint(
            "poll_interval_seconds BETWEEN 10 AND 86400",
            name=op.f("ck_email_inboxes_poll_interval"),
        ),
        sa.CheckConstraint(
            "smtp_port BETWEEN 1 AND 65535", name=op.f("ck_email_inboxes_smtp_port")
        ),
        sa.ForeignKeyConstraint(
            ["manager_id"],
            ["managers.id"],
            name=op.f("fk_email_inboxes_manager_id_managers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_inboxes")),
        sa.UniqueConstraint("manager_id", "name", name=op.f("uq_email_inboxes_manager_id_name")),
    )
    op.create_index(
        "ix_email_inboxes_due",
        "email_inboxes",
        ["next_poll_at"],
        unique=False,
        postgresql_where="is_active",
    )
    op.create_table(
        "manager_tokens",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("manager_id", sa.BigInteger(), nullable=False),
        sa.Column("token_type", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("family_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "token_hash ~ '^[0-9a-f]{64}$'", name=op.f("ck_manager_tokens_token_hash_sha256")
        ),
        sa.CheckConstraint(
            "token_type <> 'refresh' OR family_id IS NOT NULL",
            name=op.f("ck_manager_tokens_refresh_family"),
        ),
        sa.CheckConstraint(
            "token_type IN ('refresh', 'email_verification', 'password_reset')",
            name=op.f("ck_manager_tokens_token_type"),
        ),
        sa.ForeignKeyConstraint(
            ["manager_id"],
            ["managers.id"],
            name=op.f("fk_manager_tokens_manager_id_managers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_manager_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_manager_tokens_token_hash")),
    )
    op.create_index(
        "ix_manager_tokens_family_id",
        "manager_tokens",
        ["family_id"],
        unique=False,
        postgresql_where="family_id IS NOT NULL",
    )
    op.create_index(
        op.f("ix_manager_tokens_manager_id"), "manager_tokens", ["manager_id"], unique=False
    )
    op.create_table(
        "boards",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("manager_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("public_id", sa.Text(), nullable=False),
        sa.Column("email_inbox_id", sa.BigInteger(), nullable=True),
        sa.Column("external_platform", sa.Text(), nullable=True),
        sa.Column("external_config", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "external_platform IN ('jira', 'trello')", name=op.f("ck_boards_external_platform")
        ),
        sa.CheckConstraint(
            "(external_platform IS NULL) = (external_config IS NULL)",
            name=op.f("ck_boards_external_config"),
        ),
        sa.CheckConstraint("char_length(description) <= 5000", name=op.f("ck_boards_description")),
        sa.CheckConstraint("char_length(name) BETWEEN 1 AND 200", name=op.f("ck_boards_name")),
        sa.CheckConstraint("char_length(public_id) >= 22", name=op.f("ck_boards_public_id")),
        sa.CheckConstraint(
            "is_active OR archived_at IS NOT NULL", name=op.f("ck_boards_archived_at")
        ),
        sa.ForeignKeyConstraint(
            ["email_inbox_id"],
            ["email_inboxes.id"],
            name=op.f("fk_boards_email_inbox_id_email_inboxes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["manager_id"],
            ["managers.id"],
            name=op.f("fk_boards_manager_id_managers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_boards")),
        sa.UniqueConstraint("public_id", name=op.f("uq_boards_public_id")),
    )
    op.create_index(op.f("ix_boards_email_inbox_id"), "boards", ["email_inbox_id"], unique=False)
    op.create_index(
        "uq_boards_manager_name_lower",
        "boards",
        ["manager_id", sa.literal_column("lower(name)")],
        unique=True,
    )
    op.create_table(
        "board_keywords",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("board_id", sa.BigInteger(), nullable=False),
        sa.Column("keyword", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "char_length(keyword) BETWEEN 1 AND 100", name=op.f("ck_board_keywords_keyword_length")
        ),
        sa.CheckConstraint(
            "keyword = btrim(keyword)", name=op.f("ck_board_keywords_keyword_trimmed")
        ),
        sa.ForeignKeyConstraint(
            ["board_id"],
            ["boards.id"],
            name=op.f("fk_board_keywords_board_id_boards"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_keywords")),
    )
    op.create_index(
        "uq_board_keywords_board_keyword_lower",
        "board_keywords",
        ["board_id", sa.literal_column("lower(keyword)")],
        unique=True,
    )
    op.create_table(
        "external_tickets",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("board_id", sa.BigInteger(), nullable=False),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("external_url", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("reporter_email", sa.Text(), nullable=False),
        sa.Column("reporter_name", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), server_default="en", nullable=False),
        sa.Column("email_message_id", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("language IN ('en', 'pl')", name=op.f("ck_external_tickets_language")),
        sa.CheckConstraint(
            "platform IN ('jira', 'trello')", name=op.f("ck_external_tickets_platform")
        ),
        sa.CheckConstraint(
            "reporter_email LIKE '%_@_%'", name=op.f("ck_external_tickets_reporter_email")
        ),
        sa.CheckConstraint("source IN ('web', 'email')", name=op.f("ck_external_tickets_source")),
        sa.CheckConstraint(
            "status <> 'created' OR (external_id IS NOT NULL AND pushed_at IS NOT NULL)",
            name=op.f("ck_external_tickets_created_has_id"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'created', 'failed')", name=op.f("ck_external_tickets_status")
        ),
        sa.CheckConstraint(
            "char_length(description) <= 20000", name=op.f("ck_external_tickets_description")
        ),
        sa.CheckConstraint(
            "char_length(title) BETWEEN 1 AND 255", name=op.f("ck_external_tickets_title")
        ),
        sa.ForeignKeyConstraint(
            ["board_id"],
            ["boards.id"],
            name=op.f("fk_external_tickets_board_id_boards"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_tickets")),
        sa.UniqueConstraint("uuid", name=op.f("uq_external_tickets_uuid")),
    )
    op.create_index(
        "ix_external_tickets_board_created",
        "external_tickets",
        ["board_id", sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index(
        "ix_external_tickets_due",
        "external_tickets",
        ["next_attempt_at"],
        unique=False,
        postgresql_where="status = 'pending'",
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("board_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("reporter_email", sa.Text(), nullable=False),
        sa.Column("reporter_name", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), server_default="new", nullable=False),
        sa.Column("language", sa.Text(), server_default="en", nullable=False),
        sa.Column("email_message_id", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(
                "to_tsvector('simple'::regconfig, title || ' ' || description)", persisted=True
            ),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(closed_at IS NOT NULL) = (state IN ('closed', 'rejected'))",
            name=op.f("ck_tickets_closed_at"),
        ),
        sa.CheckConstraint("language IN ('en', 'pl')", name=op.f("ck_tickets_language")),
        sa.CheckConstraint("reporter_email LIKE '%_@_%'", name=op.f("ck_tickets_reporter_email")),
        sa.CheckConstraint("source IN ('web', 'email')", name=op.f("ck_tickets_source")),
        sa.CheckConstraint(
            "state IN ('new', 'in_progress', 'closed', 'rejected')", name=op.f("ck_tickets_state")
        ),
        sa.CheckConstraint(
            "char_length(description) <= 20000", name=op.f("ck_tickets_description")
        ),
        sa.CheckConstraint("char_length(title) BETWEEN 1 AND 255", name=op.f("ck_tickets_title")),
        sa.ForeignKeyConstraint(
            ["board_id"],
            ["boards.id"],
            name=op.f("fk_tickets_board_id_boards"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("uuid", name=op.f("uq_tickets_uuid")),
    )
    op.create_index(
        "ix_tickets_board_created",
        "tickets",
        ["board_id", sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index(
        "ix_tickets_board_state_created",
        "tickets",
        ["board_id", "state", sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index(
        "ix_tickets_email_message_id",
        "tickets",
        ["email_message_id"],
        unique=False,
        postgresql_where="email_message_id IS NOT NULL",
    )
    op.create_index(
        "ix_tickets_search_vector",
        "tickets",
        ["search_vector"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_table(
        "standby_queue_items",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("manager_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("email_inbox_id", sa.BigInteger(), nullable=True),
        sa.Column("external_ticket_id", sa.BigInteger(), nullable=True),
        sa.Column("ticket_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "payload",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("retry_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.BigInteger(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(status = 'pending') = (resolved_at IS NULL)",
            name=op.f("ck_standby_queue_items_resolved_at"),
        ),
        sa.CheckConstraint(
            "kind <> 'failed_external' OR external_ticket_id IS NOT NULL",
            name=op.f("ck_standby_queue_items_failed_external_ticket"),
        ),
        sa.CheckConstraint(
            "kind IN ('unrouted_email', 'failed_external')",
            name=op.f("ck_standby_queue_items_kind"),
        ),
        sa.CheckConstraint(
            "reason IN ('no_match', 'ambiguous', 'board_inactive', 'no_board', 'reply_to_ticket', 'unreadable', 'platform_error')",
            name=op.f("ck_standby_queue_items_reason"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'resolved', 'discarded')",
            name=op.f("ck_standby_queue_items_status"),
        ),
        sa.CheckConstraint("retry_count >= 0", name=op.f("ck_standby_queue_items_retry_count")),
        sa.ForeignKeyConstraint(
            ["email_inbox_id"],
            ["email_inboxes.id"],
            name=op.f("fk_standby_queue_items_email_inbox_id_email_inboxes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["external_ticket_id"],
            ["external_tickets.id"],
            name=op.f("fk_standby_queue_items_external_ticket_id_external_tickets"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["manager_id"],
            ["managers.id"],
            name=op.f("fk_standby_queue_items_manager_id_managers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"],
            ["managers.id"],
            name=op.f("fk_standby_queue_items_resolved_by_managers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_standby_queue_items_ticket_id_tickets"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standby_queue_items")),
    )
    op.create_index(
        op.f("ix_standby_queue_items_email_inbox_id"),
        "standby_queue_items",
        ["email_inbox_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_standby_queue_items_external_ticket_id"),
        "standby_queue_items",
        ["external_ticket_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_standby_queue_items_manager_id"),
        "standby_queue_items",
        ["manager_id"],
        unique=False,
    )
    op.create_index(
        "ix_standby_queue_items_pending",
        "standby_queue_items",
        ["manager_id", "created_at"],
        unique=False,
        postgresql_where="status = 'pending'",
    )
    op.create_index(
        op.f("ix_standby_queue_items_resolved_by"),
        "standby_queue_items",
        ["resolved_by"],
        unique=False,
    )
    op.create_index(
        op.f("ix_standby_queue_items_ticket_id"), "standby_queue_items", ["ticket_id"], unique=False
    )
    op.create_table(
        "ticket_status_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("from_state", sa.Text(), nullable=True),
        sa.Column("to_state", sa.Text(), nullable=False),
        sa.Column("changed_by_manager_id", sa.BigInteger(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("internal_note", sa.Text(), nullable=True),
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "from_state IN ('new', 'in_progress', 'closed', 'rejected')",
            name=op.f("ck_ticket_status_changes_from_state"),
        ),
        sa.CheckConstraint(
            "to_state IN ('new', 'in_progress', 'closed', 'rejected')",
            name=op.f("ck_ticket_status_changes_to_state"),
        ),
        sa.CheckConstraint(
            "char_length(comment) <= 5000", name=op.f("ck_ticket_status_changes_comment")
        ),
        sa.CheckConstraint(
            "char_length(internal_note) <= 5000",
            name=op.f("ck_ticket_status_changes_internal_note"),
        ),
        sa.CheckConstraint(
            "from_state IS DISTINCT FROM to_state",
            name=op.f("ck_ticket_status_changes_changes_state"),
        ),
        sa.ForeignKeyConstraint(
            ["changed_by_manager_id"],
            ["managers.id"],
            name=op.f("fk_ticket_status_changes_changed_by_manager_id_managers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_status_changes_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_status_changes")),
    )
    op.create_index(
        op.f("ix_ticket_status_changes_changed_by_manager_id"),
        "ticket_status_changes",
        ["changed_by_manager_id"],
        unique=False,
    )
    op.create_index(
        "ix_ticket_status_changes_ticket_changed",
        "ticket_status_changes",
        ["ticket_id", "changed_at"],
        unique=False,
    )
    op.create_table(
        "processed_emails",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("email_inbox_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("imap_uid", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("ticket_uuid", sa.Uuid(), nullable=True),
        sa.Column("standby_item_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "content_hash ~ '^[0-9a-f]{64}$'", name=op.f("ck_processed_emails_content_hash_sha256")
        ),
        sa.CheckConstraint(
            "outcome IN ('ticket', 'external', 'standby', 'ignored_autoreply', 'ignored_bounce', 'error')",
            name=op.f("ck_processed_emails_outcome"),
        ),
        sa.CheckConstraint(
            "char_length(message_id) BETWEEN 1 AND 998", name=op.f("ck_processed_emails_message_id")
        ),
        sa.ForeignKeyConstraint(
            ["email_inbox_id"],
            ["email_inboxes.id"],
            name=op.f("fk_processed_emails_email_inbox_id_email_inboxes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["standby_item_id"],
            ["standby_queue_items.id"],
            name=op.f("fk_processed_emails_standby_item_id_standby_queue_items"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processed_emails")),
        sa.UniqueConstraint(
            "email_inbox_id",
            "message_id",
            "content_hash",
            name=op.f("uq_processed_emails_email_inbox_id_message_id_content_hash"),
        ),
    )
    op.create_index(
        op.f("ix_processed_emails_standby_item_id"),
        "processed_emails",
        ["standby_item_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_processed_emails_standby_item_id"), table_name="processed_emails")
    op.drop_table("processed_emails")
    op.drop_index("ix_ticket_status_changes_ticket_changed", table_name="ticket_status_changes")
    op.drop_index(
        op.f("ix_ticket_status_changes_changed_by_manager_id"), table_name="ticket_status_changes"
    )
    op.drop_table("ticket_status_changes")
    op.drop_index(op.f("ix_standby_queue_items_ticket_id"), table_name="standby_queue_items")
    op.drop_index(op.f("ix_standby_queue_items_resolved_by"), table_name="standby_queue_items")
    op.drop_index(
        "ix_standby_queue_items_pending",
        table_name="standby_queue_items",
        postgresql_where="status = 'pending'",
    )
    op.drop_index(op.f("ix_standby_queue_items_manager_id"), table_name="standby_queue_items")
    op.drop_index(
        op.f("ix_standby_queue_items_external_ticket_id"), table_name="standby_queue_items"
    )
    op.drop_index(op.f("ix_standby_queue_items_email_inbox_id"), table_name="standby_queue_items")
    op.drop_table("standby_queue_items")
    op.drop_index("ix_tickets_search_vector", table_name="tickets", postgresql_using="gin")
    op.drop_index(
        "ix_tickets_email_message_id",
        table_name="tickets",
        postgresql_where="email_message_id IS NOT NULL",
    )
    op.drop_index("ix_tickets_board_state_created", table_name="tickets")
    op.drop_index("ix_tickets_board_created", table_name="tickets")
    op.drop_table("tickets")
    op.drop_index(
        "ix_external_tickets_due",
        table_name="external_tickets",
        postgresql_where="status = 'pending'",
    )
    op.drop_index("ix_external_tickets_board_created", table_name="external_tickets")
    op.drop_table("external_tickets")
    op.drop_index("uq_board_keywords_board_keyword_lower", table_name="board_keywords")
    op.drop_table("board_keywords")
    op.drop_index("uq_boards_manager_name_lower", table_name="boards")
    op.drop_index(op.f("ix_boards_email_inbox_id"), table_name="boards")
    op.drop_table("boards")
    op.drop_index(op.f("ix_manager_tokens_manager_id"), table_name="manager_tokens")
    op.drop_index(
        "ix_manager_tokens_family_id",
        table_name="manager_tokens",
        postgresql_where="family_id IS NOT NULL",
    )
    op.drop_table("manager_tokens")
    op.drop_index("ix_email_inboxes_due", table_name="email_inboxes", postgresql_where="is_active")
    op.drop_table("email_inboxes")
    op.drop_index("uq_managers_email_lower", table_name="managers")
    op.drop_table("managers")
