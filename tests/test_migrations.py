"""The schema comes from Alembic alone, and it matches the models."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app import migrations
from app.models import Base
from tests.database import DatabaseServer

TEN_TABLES = {
    "managers",
    "manager_tokens",
    "email_inboxes",
    "boards",
    "board_keywords",
    "tickets",
    "ticket_status_changes",
    "external_tickets",
    "standby_queue_items",
    "processed_emails",
}
# Tables beyond the PRD's ten that features need for durable state of their own.
FEATURE_TABLES = {
    "outgoing_emails",
    "rate_limit_counters",
    "inbox_oauth_grants",
    "inbox_oauth_requests",
}
ALL_TABLES = TEN_TABLES | FEATURE_TABLES


def _on_database(url: str, fn: Any) -> Any:
    async def run() -> Any:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(fn)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _tables(connection: Connection) -> set[str]:
    rows = connection.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    ).scalars()
    return set(rows)


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, Base.metadata))


@pytest.fixture
def fresh_url(db_server: DatabaseServer) -> Any:
    with db_server.fresh("migr") as url:
        yield url


def test_models_and_migrations_agree(fresh_url: str) -> None:
    migrations.upgrade(fresh_url)
    assert _on_database(fresh_url, _diff) == []


def test_an_unmigrated_database_differs_from_the_models(fresh_url: str) -> None:
    # The comparison above can fail: against an empty database it finds every table.
    diff = _on_database(fresh_url, _diff)
    added = {d[1].name for d in diff if d[0] == "add_table"}
    assert added == ALL_TABLES


def test_downgrade_to_base_and_upgrade_again(fresh_url: str) -> None:
    migrations.upgrade(fresh_url)
    assert _on_database(fresh_url, _tables) == ALL_TABLES | {"alembic_version"}
    migrations.downgrade(fresh_url, "base")
    assert _on_database(fresh_url, _tables) == {"alembic_version"}
    migrations.upgrade(fresh_url)
    assert _on_database(fresh_url, _tables) == ALL_TABLES | {"alembic_version"}
    assert _on_database(fresh_url, _diff) == []


UNINDEXED_FOREIGN_KEYS = text(
    """
    SELECT c.conrelid::regclass::text AS table_name, a.attname AS column_name
    FROM pg_constraint c
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
    WHERE c.contype = 'f'
      AND NOT EXISTS (
        SELECT 1 FROM pg_index i
        WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1]
      )
    """
)


def test_every_foreign_key_is_indexed(fresh_url: str) -> None:
    migrations.upgrade(fresh_url)
    rows = _on_database(fresh_url, lambda c: c.execute(UNINDEXED_FOREIGN_KEYS).all())
    assert rows == []
