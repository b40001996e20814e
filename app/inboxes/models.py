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
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.orm import Base, CreatedAt, Timestamps, one_of

SECURITY_MODES = ("ssl", "starttls", "none")
AUTH_KINDS = ("password", "oauth2")
OAUTH_PROVIDERS = ("google", "microsoft")
# What an inbox's OAuth2 grant can do now (app/inboxes/grants.py):
#   connected         tokens work;
#   retrying          the provider could not be reached or failed: tried again later;
#   smtp_disabled     reading works, but the tenant refuses SMTP AUTH (5.7.139);
#   reconnect_needed  the grant is revoked or expired: only the manager can fix it;
#   consent_required  the provider wants (admin) consent first;
#   app_rejected      the provider refuses the app itself (a wrong or expired client
#                     secret, a redirect URI not registered): the operator's to fix,
#                     tried again with backoff.
GRANT_STATUSES = (
    "connected",
    "retrying",
    "smtp_disabled",
    "reconnect_needed",
    "consent_required",
    "app_rejected",
)
# The statuses in which mail is still read: the others stop retrying.
READABLE_GRANT_STATUSES = ("connected", "retrying", "smtp_disabled", "app_rejected")
ACCESS_TOKEN_CONTEXT = "inbox_oauth_grants.access_token"
REFRESH_TOKEN_CONTEXT = "inbox_oauth_grants.refresh_token"
CODE_VERIFIER_CONTEXT = "inbox_oauth_requests.code_verifier"
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

    # password: the usernames and passwords above; oauth2: a token from the provider
    # (inbox_oauth_grants), the usernames naming the mailbox.
    auth_kind: Mapped[str] = mapped_column(Text, server_default="password")

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

    # An oauth2 inbox's tokens; loaded only where asked for (the routes).
    grant: Mapped[InboxOAuthGrant | None] = relationship(
        lazy="raise", uselist=False, passive_deletes=True
    )

    # Health.
    last_polled_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(one_of("imap_security", SECURITY_MODES), name="imap_security"),
        CheckConstraint(one_of("auth_kind", AUTH_KINDS), name="auth_kind"),
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


class InboxOAuthGrant(Timestamps, Base):
    """An oauth2 inbox's tokens and their health: one row per inbox.

    The refresh is leased (`lease_until`, `lease_owner`) so that one worker, in one
    replica, refreshes an inbox's token at a time; the token endpoint is called
    outside any transaction, and its answer (with a rotated refresh token) is saved in
    one transaction before the new access token is used."""

    __tablename__ = "inbox_oauth_grants"

    email_inbox_id: Mapped[int] = mapped_column(
        ForeignKey("email_inboxes.id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(Text)
    refresh_token_encrypted: Mapped[str] = mapped_column(Text)
    access_token_encrypted: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None]
    refreshed_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(Text, server_default="connected")
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    # After a failure that may pass (the provider unreachable), no refresh before this.
    retry_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(Integer, server_default="0")
    # The status the manager was last told about by mail: each problem is told once.
    alerted_status: Mapped[str | None] = mapped_column(Text)
    lease_until: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(one_of("provider", OAUTH_PROVIDERS), name="provider"),
        CheckConstraint(one_of("status", GRANT_STATUSES), name="status"),
        # The daily refresh of idle inboxes looks for the stalest grants.
        Index("ix_inbox_oauth_grants_refreshed_at", "refreshed_at"),
    )


class InboxOAuthRequest(CreatedAt, Base):
    """A sign-in started at a provider and not finished yet: the callback finds it by
    its `state` (stored hashed) and takes it once. For a new inbox `inbox` holds the
    settings the manager chose; for a reconnect, `email_inbox_id` names the inbox."""

    __tablename__ = "inbox_oauth_requests"

    state_hash: Mapped[str] = mapped_column(Text, primary_key=True)
    manager_id: Mapped[int] = mapped_column(
        ForeignKey("managers.id", ondelete="CASCADE"), index=True
    )
    email_inbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("email_inboxes.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(Text)
    code_verifier_encrypted: Mapped[str] = mapped_column(Text)
    # SHA-256 of the secret in the cookie of the browser that started it: the callback
    # is refused in any other browser (someone sent the sign-in link to a colleague).
    browser_hash: Mapped[str] = mapped_column(Text)
    inbox: Mapped[dict[str, object]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    expires_at: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = (CheckConstraint(one_of("provider", OAUTH_PROVIDERS), name="provider"),)
