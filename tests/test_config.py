from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from app.core.config import ConfigError, RateLimit, Settings, ensure_secrets, normalize_database_url

KEY = base64.b64encode(os.urandom(32)).decode()


def test_production_refuses_to_start_without_secret_key(tmp_path: Path) -> None:
    settings = Settings(APP_ENV="production", DATA_DIR=tmp_path, ENCRYPTION_KEY=KEY)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        ensure_secrets(settings)
    assert not (tmp_path / "dev-keys").exists()


def test_production_refuses_to_start_without_encryption_key(tmp_path: Path) -> None:
    settings = Settings(APP_ENV="production", DATA_DIR=tmp_path, SECRET_KEY="s" * 40)
    with pytest.raises(ConfigError, match="ENCRYPTION_KEY"):
        ensure_secrets(settings)


def test_production_refuses_a_short_secret_key(tmp_path: Path) -> None:
    settings = Settings(APP_ENV="production", SECRET_KEY="short", ENCRYPTION_KEY=KEY)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        ensure_secrets(settings)


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b"x" * 16).decode()])
def test_a_bad_encryption_key_is_named(bad: str) -> None:
    settings = Settings(APP_ENV="production", SECRET_KEY="s" * 40, ENCRYPTION_KEY=bad)
    with pytest.raises(ConfigError, match="ENCRYPTION_KEY"):
        ensure_secrets(settings)


def test_development_keys_are_generated_once_and_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = ensure_secrets(Settings(DATA_DIR=tmp_path))
    assert "generated a development key" in caplog.text
    second = ensure_secrets(Settings(DATA_DIR=tmp_path))
    assert first.SECRET_KEY and first.SECRET_KEY == second.SECRET_KEY
    assert first.ENCRYPTION_KEY == second.ENCRYPTION_KEY
    assert len(base64.b64decode(first.ENCRYPTION_KEY or "")) == 32
    assert oct((tmp_path / "dev-keys" / "secret_key").stat().st_mode & 0o777) == "0o600"


def test_old_encryption_keys_are_accepted_for_rotation() -> None:
    old = base64.b64encode(os.urandom(32)).decode()
    settings = Settings(SECRET_KEY="s" * 40, ENCRYPTION_KEY=KEY, ENCRYPTION_KEYS_OLD=old)
    keys = settings.encryption_keys()
    assert keys == [base64.b64decode(KEY), base64.b64decode(old)]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "postgresql://u:p@db.example.com:5432/app",
            "postgresql+asyncpg://u:p@db.example.com:5432/app",
        ),
        ("postgres://u:p@db.example.com/app", "postgresql+asyncpg://u:p@db.example.com/app"),
        ("postgresql+asyncpg://u@h/app", "postgresql+asyncpg://u@h/app"),
        (
            "postgresql://u:p@h:25060/app?sslmode=require",
            "postgresql+asyncpg://u:p@h:25060/app?ssl=require",
        ),
        (
            "postgresql://postgres:@/postgres?host=/tmp/pg",
            "postgresql+asyncpg://postgres:@/postgres?host=%2Ftmp%2Fpg",
        ),
    ],
)
def test_database_urls_in_the_forms_providers_give(given: str, expected: str) -> None:
    assert normalize_database_url(given) == expected


def test_a_non_postgres_url_is_refused() -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        normalize_database_url("mysql://u@h/db")


@pytest.mark.parametrize(
    ("text", "limit", "period"),
    [("10/minute", 10, 60), ("5/second", 5, 1), ("100 / hour", 100, 3600)],
)
def test_rate_limits_parse(text: str, limit: int, period: int) -> None:
    assert RateLimit.parse(text) == RateLimit(limit, period)


@pytest.mark.parametrize("text", ["10", "ten/minute", "0/minute", "10/day"])
def test_bad_rate_limits_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Settings(PUBLIC_SUBMIT_RATE_LIMIT=text)


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9001")
    monkeypatch.setenv("WORKERS_ENABLED", "false")
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example/")
    settings = Settings()
    assert settings.PORT == 9001
    assert settings.WORKERS_ENABLED is False
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
