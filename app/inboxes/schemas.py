"""Request and response models of the inbox routes. Passwords are write-only."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator
from pydantic_core import PydanticCustomError

from app.core.config import Settings
from app.core.text import Line, Secret
from app.inboxes import oauth
from app.inboxes.models import EmailInbox

Security = Literal["ssl", "starttls", "none"]
Provider = Literal["google", "microsoft"]
HOST_PATTERN = r"^[A-Za-z0-9.\-_:\[\]]+$"
Host = Field(min_length=1, max_length=253, pattern=HOST_PATTERN)


class InboxCreate(BaseModel):
    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "name": "Support",
                    "email_address": "support@example.com",
                    "imap_host": "imap.example.com",
                    "imap_port": 993,
                    "imap_security": "ssl",
                    "imap_username": "support@example.com",
                    "imap_password": "app-password",
                    "smtp_host": "smtp.example.com",
                    "smtp_port": 587,
                    "smtp_security": "starttls",
                    "smtp_username": "support@example.com",
                    "smtp_password": "app-password",
                    "poll_interval_seconds": 60,
                }
            ]
        },
    )

    name: Line = Field(min_length=1, max_length=200)
    email_address: EmailStr
    imap_host: str = Host
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_security: Security = "ssl"
    imap_username: Line | None = Field(default=None, max_length=320)
    imap_password: Secret | None = Field(default=None, max_length=1000)
    imap_folder: Line = Field(default="INBOX", min_length=1, max_length=200)
    smtp_host: str | None = Field(default=None, min_length=1, max_length=253, pattern=HOST_PATTERN)
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Security = "starttls"
    smtp_username: Line | None = Field(default=None, max_length=320)
    smtp_password: Secret | None = Field(default=None, max_length=1000)
    poll_interval_seconds: int = Field(default=60, ge=10, le=86400)
    is_active: bool = True


class InboxUpdate(BaseModel):
    """Fields left out stay as they are. A password set to null is removed; usernames
    and the SMTP host may be null (servers without authentication, no own SMTP)."""

    model_config = ConfigDict(str_strip_whitespace=True)

    name: Line | None = Field(default=None, min_length=1, max_length=200)
    email_address: EmailStr | None = None
    imap_host: str | None = Field(default=None, min_length=1, max_length=253, pattern=HOST_PATTERN)
    imap_port: int | None = Field(default=None, ge=1, le=65535)
    imap_security: Security | None = None
    imap_username: Line | None = Field(default=None, max_length=320)
    imap_password: Secret | None = Field(default=None, max_length=1000)
    imap_folder: Line | None = Field(default=None, min_length=1, max_length=200)
    smtp_host: str | None = Field(default=None, min_length=1, max_length=253, pattern=HOST_PATTERN)
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_security: Security | None = None
    smtp_username: Line | None = Field(default=None, max_length=320)
    smtp_password: Secret | None = Field(default=None, max_length=1000)
    poll_interval_seconds: int | None = Field(default=None, ge=10, le=86400)
    is_active: bool | None = None
    # An oauth2 inbox goes back to passwords (its tokens are dropped); an inbox goes to
    # oauth2 only by signing in (POST /inboxes/{id}/oauth2/authorize).
    auth_kind: Literal["password"] | None = None

    @field_validator(
        "name",
        "email_address",
        "imap_host",
        "imap_port",
        "imap_security",
        "imap_folder",
        "smtp_port",
        "smtp_security",
        "poll_interval_seconds",
        "is_active",
        "auth_kind",
        mode="before",
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise PydanticCustomError("not_null", "may be left out, but not null")
        return value


class OAuthGrantRead(BaseModel):
    """An oauth2 inbox's sign-in, never its tokens."""

    provider: Provider
    status: Literal[
        "connected",
        "retrying",
        "smtp_disabled",
        "reconnect_needed",
        "consent_required",
        "app_rejected",
    ]
    scopes: list[str]
    expires_at: datetime | None
    refreshed_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    # Where an administrator grants consent for the organisation (Microsoft 365), when
    # the status asks for it.
    admin_consent_url: str | None


class InboxRead(BaseModel):
    id: int
    name: str
    email_address: str
    imap_host: str
    imap_port: int
    imap_security: Security
    imap_username: str | None
    has_imap_password: bool
    imap_folder: str
    smtp_host: str | None
    smtp_port: int
    smtp_security: Security
    smtp_username: str | None
    has_smtp_password: bool
    poll_interval_seconds: int
    is_active: bool
    auth_kind: Literal["password", "oauth2"]
    oauth2: OAuthGrantRead | None
    last_polled_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    created_at: datetime
    updated_at: datetime


class CheckResult(BaseModel):
    ok: bool
    error: str | None = None


class InboxTestResult(BaseModel):
    imap: CheckResult
    smtp: CheckResult


def _grant_read(inbox: EmailInbox, settings: Settings) -> OAuthGrantRead | None:
    grant = inbox.grant if inbox.auth_kind == "oauth2" else None
    if grant is None:
        return None
    provider = oauth.providers(settings).get(grant.provider)
    return OAuthGrantRead(
        provider=grant.provider,  # type: ignore[arg-type]
        status=grant.status,  # type: ignore[arg-type]
        scopes=grant.scopes.split(),
        expires_at=grant.expires_at,
        refreshed_at=grant.refreshed_at,
        last_error=grant.last_error,
        last_error_at=grant.last_error_at,
        admin_consent_url=provider.admin_consent_url
        if provider is not None and grant.status == "consent_required"
        else None,
    )


def inbox_read(inbox: EmailInbox, settings: Settings) -> InboxRead:
    """The inbox as its manager sees it: whether a password is set, never the password;
    how it signs in, never its tokens (its grant must be loaded)."""
    return InboxRead(
        id=inbox.id,
        name=inbox.name,
        email_address=inbox.email_address,
        imap_host=inbox.imap_host,
        imap_port=inbox.imap_port,
        imap_security=inbox.imap_security,  # type: ignore[arg-type]
        imap_username=inbox.imap_username,
        has_imap_password=inbox.imap_password_encrypted is not None,
        imap_folder=inbox.imap_folder,
        smtp_host=inbox.smtp_host,
        smtp_port=inbox.smtp_port,
        smtp_security=inbox.smtp_security,  # type: ignore[arg-type]
        smtp_username=inbox.smtp_username,
        has_smtp_password=inbox.smtp_password_encrypted is not None,
        poll_interval_seconds=inbox.poll_interval_seconds,
        is_active=inbox.is_active,
        auth_kind=inbox.auth_kind,  # type: ignore[arg-type]
        oauth2=_grant_read(inbox, settings),
        last_polled_at=inbox.last_polled_at,
        last_error=inbox.last_error,
        last_error_at=inbox.last_error_at,
        created_at=inbox.created_at,
        updated_at=inbox.updated_at,
    )


class OAuthConnect(BaseModel):
    """A new inbox that signs in at Google or Microsoft 365. The servers default to the
    provider's; the username of both is the mailbox address."""

    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "provider": "microsoft",
                    "name": "Support",
                    "email_address": "support@example.com",
                    "login_hint": "alice@example.com",
                }
            ]
        },
    )

    provider: Provider
    name: Line = Field(min_length=1, max_length=200)
    # The mailbox read and sent from. For a Microsoft 365 shared mailbox: its own
    # address, while a person with access to it signs in (login_hint).
    email_address: EmailStr
    # The account to suggest on the provider's sign-in page (the person may pick another).
    login_hint: EmailStr | None = None
    imap_host: str | None = Field(default=None, min_length=1, max_length=253, pattern=HOST_PATTERN)
    imap_port: int | None = Field(default=None, ge=1, le=65535)
    imap_security: Security | None = None
    imap_folder: Line = Field(default="INBOX", min_length=1, max_length=200)
    smtp_host: str | None = Field(default=None, min_length=1, max_length=253, pattern=HOST_PATTERN)
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_security: Security | None = None
    poll_interval_seconds: int = Field(default=60, ge=10, le=86400)
    is_active: bool = True


class OAuthReconnect(BaseModel):
    """Sign an inbox in again (or switch a password inbox to a provider's sign-in)."""

    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"provider": "microsoft", "login_hint": "a@example.com"}]},
    )

    # Unset: the provider it signed in with before.
    provider: Provider | None = None
    login_hint: EmailStr | None = None


class OAuthStart(BaseModel):
    """Send the browser to `authorization_url`; the provider sends it back to the
    callback, which answers with a redirect into the app."""

    authorization_url: str
    expires_at: datetime
