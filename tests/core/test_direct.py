"""The direct pool of the busiest public routes: one statement per read, no transaction,
parameters in the order the compiled SQL numbers them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from app.core.config import Settings, normalize_database_url
from app.core.database import make_direct_pool
from app.core.direct import DirectPool, compile_query
from app.ratelimit.service import RECORD_HIT
from app.tickets.models import Ticket

_BY_TITLE_AND_STATE = compile_query(
    select(Ticket.id).where(Ticket.state == bindparam("state"), Ticket.title == bindparam("title"))
)


def test_a_compiled_query_numbers_its_parameters_in_order() -> None:
    assert "tickets.state = $1" in _BY_TITLE_AND_STATE.sql
    assert "tickets.title = $2" in _BY_TITLE_AND_STATE.sql
    assert _BY_TITLE_AND_STATE.arguments({"title": "T", "state": "new"}) == ["new", "T"]


async def test_a_read_is_one_statement_outside_any_transaction(
    engine: AsyncEngine, settings: Settings
) -> None:
    pool = await make_direct_pool(engine, settings.model_copy(update={"DB_READ_POOL_SIZE": 1}))
    try:
        reader = DirectPool(pool, acquire_timeout=5)
        async with pool.acquire() as connection:  # the pool's only connection
            logged: list[str] = []
            connection.add_query_logger(lambda record: logged.append(record.query))
            # The same timeout as the engine's sessions.
            assert await connection.fetchval("SHOW statement_timeout") == "15s"
        rows = await reader.fetch(_BY_TITLE_AND_STATE, state="new", title=str(uuid.uuid4()))
        assert rows == []
        # No BEGIN, no COMMIT, and no reset statement when a connection goes back.
        assert logged == ["SHOW statement_timeout", _BY_TITLE_AND_STATE.sql]
    finally:
        await pool.close()


async def test_a_read_outlives_a_server_that_dropped_every_pooled_connection(
    engine: AsyncEngine, settings: Settings, db: AsyncSession
) -> None:
    """After a database restart every idle connection in the pool is dead: the read
    is run again on a new one instead of failing (or failing the next reads)."""
    pool = await make_direct_pool(engine, settings.model_copy(update={"DB_READ_POOL_SIZE": 2}))
    try:
        reader = DirectPool(pool, acquire_timeout=5)
        async with pool.acquire() as first, pool.acquire() as second:
            pids = [first.get_server_pid(), second.get_server_pid()]
        for pid in pids:
            assert await db.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(3):
            rows = await reader.fetch(_BY_TITLE_AND_STATE, state="new", title="nothing")
            assert rows == []
        async with pool.acquire() as connection:
            assert connection.get_server_pid() not in pids
    finally:
        await pool.close()


_COUNT = compile_query(RECORD_HIT)


async def test_a_write_is_never_run_twice(
    engine: AsyncEngine, settings: Settings, db: AsyncSession
) -> None:
    """A write whose connection was lost is not run again (had its answer been lost
    after a commit, a second run would write twice): the error is raised, and the
    next write goes to a new connection."""
    pool = await make_direct_pool(engine, settings.model_copy(update={"DB_READ_POOL_SIZE": 1}))
    key = f"test:{uuid.uuid4()}"
    values = {"key": key, "start": datetime.now(UTC), "end": datetime.now(UTC), "step": 1}
    try:
        writer = DirectPool(pool, acquire_timeout=5)
        async with pool.acquire() as connection:
            pid = connection.get_server_pid()
        assert await db.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        lost = (
            asyncpg.ConnectionDoesNotExistError,
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,
        )
        with pytest.raises(lost):
            await writer.write(_COUNT, **values)
        assert await writer.write(_COUNT, **values) == [(1,)]  # once, on a new connection
    finally:
        async with pool.acquire() as connection:
            await connection.execute("DELETE FROM rate_limit_counters WHERE key = $1", key)
        await pool.close()


async def test_the_direct_pool_takes_the_url_as_the_engine_does(
    database_url: str, settings: Settings
) -> None:
    """`sslmode=` from a hosting provider's URL becomes asyncpg's `ssl=` argument for
    the direct pool too, not a server setting the server refuses at login."""
    url = normalize_database_url(
        f"{database_url}{'&' if '?' in database_url else '?'}sslmode=disable"
    )
    assert "ssl=disable" in url
    engine = create_async_engine(url)
    pool = await make_direct_pool(engine, settings)
    try:
        reader = DirectPool(pool, acquire_timeout=5)
        rows = await reader.fetch(_BY_TITLE_AND_STATE, state="new", title="nothing")
        assert rows == []
    finally:
        await pool.close()
        await engine.dispose()


def test_a_statement_whose_python_defaults_would_be_skipped_is_refused_at_compile() -> None:
    """Below the ORM nothing computes a column's Python-side default (the timestamps
    from the app's clock): a statement that leaves one unbound fails where it is built."""
    from sqlalchemy import insert

    from app.intake.models import ProcessedEmail

    with pytest.raises(ValueError, match="created_at"):
        compile_query(insert(ProcessedEmail).values(message_id=bindparam("message_id")))


STAMPS = ("created_at", "updated_at", "next_attempt_at")


def test_literals_and_conversions_travel_with_the_compiled_query() -> None:
    """A literal of the statement is bound by the query itself, and a JSON value is
    serialised as executing through SQLAlchemy would."""
    from sqlalchemy import insert, literal

    from app.outbox.models import OutgoingEmail

    query = compile_query(select(literal("fixed"), bindparam("n")))
    assert query.arguments({"n": 1}) == ["fixed", 1]
    headers = compile_query(
        insert(OutgoingEmail).values({name: bindparam(name) for name in ("headers", *STAMPS)})
    )
    arguments = headers.arguments({"headers": {"X-A": "b"}, **dict.fromkeys(STAMPS)})
    assert '{"X-A": "b"}' in [a for a in arguments if isinstance(a, str)], arguments
