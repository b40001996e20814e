from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from app.core.config import ConfigError, RateLimit, Settings, ensure_secrets, normalize_database_url

KEY = base64.b64encode(os.urandom(32)).decode()


PRODUCTION = {
    "APP_ENV": "production",
    "DATABASE_URL": "postgresql://tracker:pw@db.internal:5432/tracker",
    "PUBLIC_BASE_URL": "https://help.example.com",
    "SMTP_HOST": "smtp.example.com",
    "SECRET_KEY": "s" * 40,
    "ENCRYPTION_KEY": KEY,
}


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test gives counts, not the environment it runs in."""
    for name in PRODUCTION:
        monkeypatch.delenv(name, raising=False)


def production(tmp_path: Path, **changes: str | None) -> Settings:
    values = {**PRODUCTION, "DATA_DIR": str(tmp_path), **changes}
    return Settings(**{k: v for k, v in values.items() if v is not None})  # type: ignore[arg-type]


def test_a_complete_production_configuration_starts(
    tmp_path: Path, clean_environment: None
) -> None:
    settings = ensure_secrets(production(tmp_path))
    assert settings.is_production
    assert not (tmp_path / "dev-keys").exists()


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"DATABASE_URL": None}, "DATABASE_URL"),
        ({"PUBLIC_BASE_URL": "http://help.example.com"}, "PUBLIC_BASE_URL"),
        ({"PUBLIC_BASE_URL": "https://localhost:8000"}, "PUBLIC_BASE_URL"),
        ({"PUBLIC_BASE_URL": "https://127.0.0.1"}, "PUBLIC_BASE_URL"),
        ({"PUBLIC_BASE_URL": None}, "PUBLIC_BASE_URL"),  # the default is localhost
        ({"SMTP_HOST": None}, "SMTP_HOST"),
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"SECRET_KEY": "change-me-to-48-random-characters-see-docs-deployment"}, "SECRET_KEY"),
        ({"ENCRYPTION_KEY": None}, "ENCRYPTION_KEY"),
        ({"ENCRYPTION_KEY": "change-me"}, "ENCRYPTION_KEY"),  # one line, not two
        ({"SMTP_PASSWORD": "change-me"}, "SMTP_PASSWORD"),
        ({"DATABASE_URL": "postgresql://tracker:change-me@db:5432/tracker"}, "DATABASE_URL"),
        ({"ENCRYPTION_KEY": "not base64!"}, "ENCRYPTION_KEY"),
        ({"ENCRYPTION_KEY": base64.b64encode(b"x" * 16).decode()}, "ENCRYPTION_KEY"),
    ],
)
def test_production_refuses_each_problem_in_one_line_naming_its_variable(
    tmp_path: Path, clean_environment: None, changes: dict[str, str | None], variable: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        ensure_secrets(production(tmp_path, **changes))
    lines = str(refused.value).splitlines()
    assert len(lines) == 1 and lines[0].startswith(variable), lines
    assert not (tmp_path / "dev-keys").exists()


def test_production_refuses_the_keys_development_generated(
    tmp_path: Path, clean_environment: None
) -> None:
    """Keys copied from a development DATA_DIR are on a laptop, in backups, in chat."""
    development = ensure_secrets(Settings(DATA_DIR=tmp_path))
    assert development.SECRET_KEY and development.ENCRYPTION_KEY
    with pytest.raises(ConfigError) as refused:
        ensure_secrets(
            production(
                tmp_path,
                SECRET_KEY=development.SECRET_KEY,
                ENCRYPTION_KEY=development.ENCRYPTION_KEY,
            )
        )
    lines = str(refused.value).splitlines()
    assert [line.split()[0] for line in lines] == ["SECRET_KEY", "ENCRYPTION_KEY"]
    assert all("development key" in line for line in lines)


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
