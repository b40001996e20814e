"""Settings: the one place environment variables are read (SPEC section 8)."""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour)\s*$")
_PERIOD_SECONDS = {"second": 1, "minute": 60, "hour": 3600}


class ConfigError(RuntimeError):
    """A setting is missing or unusable; the message names the variable."""


@dataclass(frozen=True)
class RateLimit:
    """`N/second|minute|hour` parsed: `limit` events per `period_seconds`."""

    limit: int
    period_seconds: int

    @classmethod
    def parse(cls, value: str) -> RateLimit:
        match = _RATE_RE.match(value)
        if not match or int(match.group(1)) < 1:
            raise ValueError("must look like N/second, N/minute or N/hour with N >= 1")
        return cls(int(match.group(1)), _PERIOD_SECONDS[match.group(2)])


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore")

    APP_ENV: Literal["development", "production"] = "development"
    DATABASE_URL: str | None = None
    DATA_DIR: Path = Path(".data")
    HOST: str = "127.0.0.1"
    PORT: int = Field(default=8000, ge=1, le=65535)
    SECRET_KEY: str | None = None
    ENCRYPTION_KEY: str | None = None
    # Earlier encryption keys, comma-separated: values written with them still decrypt.
    ENCRYPTION_KEYS_OLD: str = ""
    PUBLIC_BASE_URL: str = "http://localhost:8000"
    # The built SPA; unset: frontend/dist of the checkout the app runs from. An
    # installed app (the image) names it.
    FRONTEND_DIST: Path | None = None

    SMTP_HOST: str | None = None
    SMTP_PORT: int = Field(default=587, ge=1, le=65535)
    SMTP_SECURITY: Literal["ssl", "starttls", "none"] = "starttls"
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_FROM: str = "Simple Issue Tracker <no-reply@localhost>"

    GELF_HOST: str | None = None
    GELF_PORT: int = Field(default=12201, ge=1, le=65535)
    GELF_PROTOCOL: Literal["udp", "tcp"] = "udp"
    LOG_LEVEL: str = "INFO"

    # Proxies whose X-Forwarded-For/-Proto are believed (comma-separated IPs, or "*").
    FORWARDED_ALLOW_IPS: str = "127.0.0.1"

    WORKERS_ENABLED: bool = True
    # Server processes sharing the port (`python -m app serve`); unset: one per CPU in
    # production, one in development. Each runs the background workers too: their
    # leases keep them from working on the same row.
    WEB_CONCURRENCY: int | None = Field(default=None, ge=1, le=64)
    # How long a worker's claim on an inbox or a mail lasts without renewal: after a
    # crash, another worker takes over once it runs out.
    WORKER_LEASE_SECONDS: float = Field(default=90, ge=2, le=3600)
    CORS_ORIGINS: str = ""
    PUBLIC_SUBMIT_RATE_LIMIT: str = "10/minute"
    # Failed sign-ins per account (any address); the per-address limit is its own and
    # higher, so one office behind one address is not locked out by one person's typos.
    LOGIN_RATE_LIMIT: str = "5/minute"
    LOGIN_RATE_LIMIT_PER_IP: str = "30/minute"
    # Sign-ups per client address and per e-mail address (each sends a mail).
    REGISTER_RATE_LIMIT: str = "5/hour"

    # Outgoing connections a manager points somewhere (Jira sites, IMAP/SMTP hosts):
    # loopback, private, link-local, multicast and metadata addresses are refused
    # unless this is true. Unset: true in development, false in production.
    ALLOW_PRIVATE_NETWORK_TARGETS: bool | None = None
    # Request bodies larger than this are refused with 413 before they are read.
    MAX_REQUEST_BODY_BYTES: int = Field(default=1_048_576, ge=1024)
    # Mail larger than this is not parsed: it waits in standby (reason too_large).
    MAX_MESSAGE_BYTES: int = Field(default=25 * 1024 * 1024, ge=1024)

    # Mailboxes on Google Workspace and Microsoft 365 sign in with OAuth2 (docs/email.md):
    # the app registered with each provider, its redirect URI
    # {PUBLIC_BASE_URL}/api/v1/inboxes/oauth2/callback. A provider without a client id
    # is not offered. MICROSOFT_OAUTH_TENANT: the directory (tenant) id, or "common".
    GOOGLE_OAUTH_CLIENT_ID: str | None = None
    GOOGLE_OAUTH_CLIENT_SECRET: str | None = None
    MICROSOFT_OAUTH_CLIENT_ID: str | None = None
    MICROSOFT_OAUTH_CLIENT_SECRET: str | None = None
    MICROSOFT_OAUTH_TENANT: str = Field(default="common", pattern=r"^[A-Za-z0-9.\-]{1,100}$")
    # Where the providers' sign-in pages and token endpoints are (tests point them at a
    # local stand-in; nobody else needs to change them).
    GOOGLE_OAUTH_AUTHORIZE_URL: str = "https://accounts.google.com/o/oauth2/v2/auth"
    GOOGLE_OAUTH_TOKEN_URL: str = "https://oauth2.googleapis.com/token"
    MICROSOFT_OAUTH_AUTHORITY: str = "https://login.microsoftonline.com"

    TRELLO_API_BASE_URL: str = "https://api.trello.com"
    INTEGRATION_TIMEOUT_SECONDS: float = Field(default=15, gt=0)
    FORWARD_MAX_ATTEMPTS: int = Field(default=5, ge=1)
    FORWARD_RETRY_BASE_SECONDS: float = Field(default=30, ge=0)

    # No overflow by default: under a burst, opening and closing a connection per
    # request costs the database more than waiting for a pooled one.
    DB_POOL_SIZE: int = Field(default=20, ge=1)
    DB_MAX_OVERFLOW: int = Field(default=0, ge=0)
    # The busiest public routes (the status link, the public form) go through a
    # small pool of their own, without SQLAlchemy (app/core/direct.py).
    DB_READ_POOL_SIZE: int = Field(default=10, ge=1)
    # A database that does not answer must cost a request seconds, not minutes: how
    # long to wait for a free pooled connection, for a new connection, and for one
    # statement (0: no limit; enforced by the server, and by the client a little
    # later in case the server cannot even say so). Migrations use their own engine.
    DB_POOL_TIMEOUT_SECONDS: float = Field(default=5, gt=0)
    DB_CONNECT_TIMEOUT_SECONDS: float = Field(default=5, gt=0)
    DB_STATEMENT_TIMEOUT_SECONDS: float = Field(default=15, ge=0)

    @field_validator(
        "PUBLIC_SUBMIT_RATE_LIMIT",
        "LOGIN_RATE_LIMIT",
        "LOGIN_RATE_LIMIT_PER_IP",
        "REGISTER_RATE_LIMIT",
    )
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        RateLimit.parse(value)
        return value.strip()

    @field_validator("PUBLIC_BASE_URL")
    @classmethod
    def _base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL such as https://help.example.com")
        return value.rstrip("/")

    @field_validator(
        "DATABASE_URL",
        "GOOGLE_OAUTH_CLIENT_ID",
        "GOOGLE_OAUTH_CLIENT_SECRET",
        "MICROSOFT_OAUTH_CLIENT_ID",
        "MICROSOFT_OAUTH_CLIENT_SECRET",
    )
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @property
    def is_production(self) -> bool:
        return self.APP_ENV == "production"

    @property
    def web_concurrency(self) -> int:
        if self.WEB_CONCURRENCY is not None:
            return self.WEB_CONCURRENCY
        return (os.cpu_count() or 1) if self.is_production else 1

    @property
    def public_submit_rate(self) -> RateLimit:
        return RateLimit.parse(self.PUBLIC_SUBMIT_RATE_LIMIT)

    @property
    def login_rate(self) -> RateLimit:
        return RateLimit.parse(self.LOGIN_RATE_LIMIT)

    @property
    def login_rate_per_ip(self) -> RateLimit:
        return RateLimit.parse(self.LOGIN_RATE_LIMIT_PER_IP)

    @property
    def register_rate(self) -> RateLimit:
        return RateLimit.parse(self.REGISTER_RATE_LIMIT)

    @property
    def allow_private_network_targets(self) -> bool:
        if self.ALLOW_PRIVATE_NETWORK_TARGETS is None:
            return not self.is_production
        return self.ALLOW_PRIVATE_NETWORK_TARGETS

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.CORS_ORIGINS.split(",") if o.strip()]

    @property
    def data_dir(self) -> Path:
        return self.DATA_DIR.expanduser().resolve()

    def secret_key(self) -> str:
        assert self.SECRET_KEY, "ensure_secrets() runs at start-up"
        return self.SECRET_KEY

    def encryption_keys(self) -> list[bytes]:
        """The current key first, then the old ones still accepted for decryption."""
        assert self.ENCRYPTION_KEY, "ensure_secrets() runs at start-up"
        keys = [decode_encryption_key(self.ENCRYPTION_KEY, "ENCRYPTION_KEY")]
        for old in filter(None, (k.strip() for k in self.ENCRYPTION_KEYS_OLD.split(","))):
            keys.append(decode_encryption_key(old, "ENCRYPTION_KEYS_OLD"))
        return keys


def decode_encryption_key(value: str, name: str) -> bytes:
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{name} is not valid base64") from None
    if len(key) != 32:
        raise ConfigError(f"{name} must be base64 of exactly 32 bytes (got {len(key)} bytes)")
    return key


def normalize_database_url(url: str) -> str:
    """Accept URLs as hosting providers give them and return one for SQLAlchemy + asyncpg.

    `postgres://` and `postgresql://` become `postgresql+asyncpg://`; libpq's
    `sslmode=` becomes asyncpg's `ssl=`; `?host=/path` (a Unix socket) is kept.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme
    if scheme in ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"):
        scheme = "postgresql+asyncpg"
    if scheme != "postgresql+asyncpg":
        raise ConfigError("DATABASE_URL must be a postgresql:// URL")
    query = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "sslmode":
            key = "ssl"
        query.append((key, value))
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def ensure_secrets(settings: Settings) -> Settings:
    """Fill SECRET_KEY/ENCRYPTION_KEY from DATA_DIR in development; in production,
    refuse to start on any setting that would lose data or mislead reporters (every
    problem at once, one line each, naming its variable)."""
    if settings.is_production:
        problems = production_problems(settings)
        if problems:
            raise ConfigError("\n".join(problems))
    else:
        if not settings.SECRET_KEY:
            settings.SECRET_KEY = _dev_secret(settings, "secret_key", secrets.token_urlsafe(48))
        if not settings.ENCRYPTION_KEY:
            settings.ENCRYPTION_KEY = _dev_secret(
                settings, "encryption_key", base64.b64encode(secrets.token_bytes(32)).decode()
            )
    settings.encryption_keys()  # validates the keys, naming the variable on error
    return settings


# What the repository shows as example keys (.env.example, the docs): never real ones.
EXAMPLE_KEYS = frozenset({"changeme", "secret"})  # and anything starting change-me
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", "[::1]"})


def production_problems(settings: Settings) -> list[str]:
    """What APP_ENV=production refuses to start with, one line per problem."""
    problems = []
    if not settings.DATABASE_URL:
        problems.append(
            "DATABASE_URL must be set when APP_ENV=production: without it an embedded "
            "PostgreSQL would keep every ticket inside the container, and a redeploy "
            "would lose them"
        )
    public = urlsplit(settings.PUBLIC_BASE_URL)
    host = (public.hostname or "").lower()
    if public.scheme != "https" or host in _LOCAL_HOSTS or host.endswith(".localhost"):
        problems.append(
            "PUBLIC_BASE_URL must be the https:// address reporters reach (their status "
            f"links point there), not {settings.PUBLIC_BASE_URL}"
        )
    if not settings.SMTP_HOST:
        problems.append(
            "SMTP_HOST must be set when APP_ENV=production: without it mail to reporters "
            "and managers is written to files instead of sent"
        )
    for name, filename in (("SECRET_KEY", "secret_key"), ("ENCRYPTION_KEY", "encryption_key")):
        value = (getattr(settings, name) or "").strip()
        if not value:
            problems.append(f"{name} must be set when APP_ENV=production")
        elif value.lower() in EXAMPLE_KEYS or value.startswith("change-me"):
            problems.append(f"{name} is the example value: generate a key (docs/deployment.md)")
        elif _is_development_key(settings, filename, value):
            problems.append(
                f"{name} is the development key generated in DATA_DIR: generate a new one "
                "for production (docs/deployment.md)"
            )
        elif name == "SECRET_KEY" and len(value) < 32:
            problems.append("SECRET_KEY must be at least 32 characters when APP_ENV=production")
    if settings.ENCRYPTION_KEY and not any(p.startswith("ENCRYPTION_KEY") for p in problems):
        try:
            settings.encryption_keys()
        except ConfigError as exc:
            problems.append(str(exc))
    for name in ("SMTP_USERNAME", "SMTP_PASSWORD", "DATABASE_URL"):
        if "change-me" in (getattr(settings, name) or ""):
            problems.append(f"{name} holds the example value change-me: set the real one")
    return problems


def _is_development_key(settings: Settings, filename: str, value: str) -> bool:
    path = settings.data_dir / "dev-keys" / filename
    try:
        return path.read_text().strip() == value
    except OSError:
        return False


def _dev_secret(settings: Settings, filename: str, fresh: str) -> str:
    path = settings.data_dir / "dev-keys" / filename
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(fresh)
    path.chmod(0o600)
    log.warning(
        "generated a development key; set the variable in production",
        extra={"variable": filename.upper(), "path": str(path)},
    )
    return fresh


@lru_cache
def get_settings() -> Settings:
    return ensure_secrets(Settings())
