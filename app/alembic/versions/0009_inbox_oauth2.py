"""Inboxes on Google Workspace and Microsoft 365 sign in with OAuth2: an inbox's
auth_kind (password | oauth2), its grant (encrypted tokens, expiry, status) and the
sign-ins started at a provider and not finished yet.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 22:37:33.942025+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox_oauth_grants",
        sa.Column("email_inbox_id", sa.BigInteger(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("refresh_token_encrypted", sa.Text(), nullable=False),
        sa.Column("access_token_encrypted", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.Text(), server_default="connected", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("alerted_status", sa.Text(), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.Text(), nullable=True),
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
            "provider IN ('google', 'microsoft')", name=op.f("ck_inbox_oauth_grants_provider")
        ),
        sa.CheckConstraint(
            "status IN ('connected', 'retrying', 'smtp_disabled', 'reconnect_needed', "
            "'consent_required', 'app_rejected')",
            name=op.f("ck_inbox_oauth_grants_status"),
        ),
        sa.ForeignKeyConstraint(
            ["email_inbox_id"],
            ["email_inboxes.id"],
            name=op.f("fk_inbox_oauth_grants_email_inbox_id_email_inboxes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("email_inbox_id", name=op.f("pk_inbox_oauth_grants")),
    )
    op.create_index(
        "ix_inbox_oauth_grants_refreshed_at", "inbox_oauth_grants", ["refreshed_at"], unique=False
    )
    op.create_table(
        "inbox_oauth_requests",
        sa.Column("state_hash", sa.Text(), nullable=False),
        sa.Column("manager_id", sa.BigInteger(), nullable=False),
        sa.Column("email_inbox_id", sa.BigInteger(), nullable=True),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("code_verifier_encrypted", sa.Text(), nullable=False),
        sa.Column("browser_hash", sa.Text(), nullable=False),
        sa.Column(
            "inbox",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "provider IN ('google', 'microsoft')", name=op.f("ck_inbox_oauth_requests_provider")
        ),
        sa.ForeignKeyConstraint(
            ["email_inbox_id"],
            ["email_inboxes.id"],
            name=op.f("fk_inbox_oauth_requests_email_inbox_id_email_inboxes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["manager_id"],
            ["managers.id"],
            name=op.f("fk_inbox_oauth_requests_manager_id_managers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_inbox_oauth_requests")),
    )
    op.create_index(
        op.f("ix_inbox_oauth_requests_email_inbox_id"),
        "inbox_oauth_requests",
        ["email_inbox_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_inbox_oauth_requests_expires_at"),
        "inbox_oauth_requests",
        ["expires_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_inbox_oauth_requests_manager_id"),
        "inbox_oauth_requests",
        ["manager_id"],
        unique=False,
    )
    op.add_column(
        "email_inboxes",
        sa.Column("auth_kind", sa.Text(), server_default="password", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_email_inboxes_auth_kind"), "email_inboxes", "auth_kind IN ('password', 'oauth2')"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_email_inboxes_auth_kind"), "email_inboxes", type_="check")
    op.drop_column("email_inboxes", "auth_kind")
    op.drop_index(op.f("ix_inbox_oauth_requests_manager_id"), table_name="inbox_oauth_requests")
    op.drop_index(op.f("ix_inbox_oauth_requests_expires_at"), table_name="inbox_oauth_requests")
    op.drop_index(op.f("ix_inbox_oauth_requests_email_inbox_id"), table_name="inbox_oauth_requests")
    op.drop_table("inbox_oauth_requests")
    op.drop_index("ix_inbox_oauth_grants_refreshed_at", table_name="inbox_oauth_grants")
    op.drop_table("inbox_oauth_grants")
