"""The direct pool of the busiest public routes: one statement per read, no transaction,
parameters in the order the compiled SQL numbers them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from sqlalchemy import BigInteger, Integer, bindparam, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from app.core.config import Settings, normalize_database_url
from app.core.database import make_direct_pool
from app.core.direct import DirectPool, Pipeline, Statement, below, compile_query
from app.ratelimit.models import RateLimitCounter
from app.ratelimit.service import RECORD_HIT
from app.tickets.models import Ticket
from app.tickets.submission import _REPORT

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


@asynccontextmanager
async def counting(
    engine: AsyncEngine, settings: Settings, keys: list[str], pool_size: int = 5
) -> AsyncIterator[tuple[DirectPool, asyncpg.Pool]]:
    """A direct pool whose writes count under `keys` (rate-limit counters, outside
    the tests' transactions: removed at the end)."""
    update = {"DB_READ_POOL_SIZE": pool_size}
    pool = await make_direct_pool(engine, settings.model_copy(update=update))
    try:
        yield DirectPool(pool, acquire_timeout=5), pool
    finally:
        async with pool.acquire() as connection:
            await connection.execute("DELETE FROM rate_limit_counters WHERE key = ANY($1)", keys)
        await pool.close()


async def test_a_write_is_never_run_twice(
    engine: AsyncEngine, settings: Settings, db: AsyncSession
) -> None:
    """A write whose connection is lost while it runs is not run again (had its answer
    been lost after a commit, a second run would write twice): the error is raised, and
    the next write goes to a new connection."""
    key = f"test:{uuid.uuid4()}"
    values = {"key": key, "start": datetime.now(UTC), "end": datetime.now(UTC), "step": 1}
    waiting = text(
        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query = :sql"
    )
    async with counting(engine, settings, [key], pool_size=2) as (writer, pool):
        async with pool.acquire() as blocker:
            # Another transaction holds the counter's row: the write waits for it, and
            # its connection is lost while it waits (not before it was sent, nor after
            # its answer: both would be races with the server).
            holding = blocker.transaction()
            await holding.start()
            await blocker.execute(_COUNT.sql, *_COUNT.arguments(values))
            write = asyncio.create_task(writer.write_row(_COUNT, **values))
            async with asyncio.timeout(10):
                while True:
                    await db.execute(text("SELECT pg_stat_clear_snapshot()"))
                    pid = await db.scalar(waiting, {"sql": _COUNT.sql})
                    if pid is not None:
                        break
                    await asyncio.sleep(0.01)
            assert await db.scalar(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid})
            lost = (
                asyncpg.ConnectionDoesNotExistError,
                asyncpg.InterfaceError,
                asyncpg.InternalClientError,
            )
            with pytest.raises(lost):
                async with asyncio.timeout(10):  # a write run again would wait here
                    await write
            await holding.rollback()
        assert await writer.write_row(_COUNT, **values) == (1,)  # once, on a new connection


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


_DOUBLE = Statement(select(bindparam("n", type_=Integer) * 2))
_TRIPLE = Statement(select(bindparam("n", type_=Integer) * 3))
# Waits for the transaction-scoped advisory lock `key` (another connection holds it).
_AFTER_LOCK = Statement(
    select(
        func.pg_advisory_xact_lock(bindparam("key", type_=BigInteger)),
        bindparam("n", type_=Integer),
    )
)


@asynccontextmanager
async def lock_held(engine: AsyncEngine) -> AsyncIterator[tuple[int, AsyncConnection]]:
    """A transaction-scoped advisory lock, its key, held by another connection until
    it rolls back: statements that take it wait for it."""
    key = uuid.uuid4().int >> 65
    async with engine.connect() as holder:
        await holder.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        yield key, holder


def keeping(answers: list[Any], column: int) -> Callable[[Any], Awaitable[None]]:
    """A pipeline callback keeping one column of each row it is given."""

    async def keep(row: Any) -> None:
        answers.append(row[column])

    return keep


async def test_a_pipeline_answers_each_run_in_order_one_statement_a_round(
    db: AsyncSession,
) -> None:
    pipeline = Pipeline((await below(db)).connection, round_size=3)
    answers: list[int] = []
    keep = keeping(answers, 0)

    for statement, n in [(_DOUBLE, 1), (_DOUBLE, 2), (_TRIPLE, 3), (_DOUBLE, 4), (_DOUBLE, 5)]:
        await pipeline.add(statement, {"n": n}, keep)
    await pipeline.settle()
    assert answers == [2, 4, 9, 8, 10]
    # Settled, the connection is the session's again.
    assert await db.scalar(text("SELECT 1")) == 1


async def test_a_pipeline_goes_on_while_its_round_runs(
    engine: AsyncEngine, db: AsyncSession
) -> None:
    """A full round is sent and the caller goes on at once; its answers come when
    PostgreSQL has run it (here: once another connection lets it)."""
    async with lock_held(engine) as (key, holder):
        pipeline = Pipeline((await below(db)).connection, round_size=2)
        answers: list[int] = []
        keep = keeping(answers, 1)
        async with asyncio.timeout(10):  # the round waits for the lock: add must not
            await pipeline.add(_AFTER_LOCK, {"key": key, "n": 1}, keep)
            await pipeline.add(_AFTER_LOCK, {"key": key, "n": 2}, keep)
        assert answers == []  # sent, not answered: the lock is still held
        await holder.rollback()  # lets the round run
    async with asyncio.timeout(10):
        await pipeline.settle()
    assert answers == [1, 2]


async def test_an_abandoned_pipeline_sends_nothing_more_and_waits_for_its_round(
    engine: AsyncEngine, db: AsyncSession
) -> None:
    async with lock_held(engine) as (key, holder):
        pipeline = Pipeline((await below(db)).connection, round_size=2)
        answers: list[int] = []
        keep = keeping(answers, 1)
        async with asyncio.timeout(10):
            for n in (1, 2, 3):  # a round of two sent (waiting for the lock), one queued
                await pipeline.add(_AFTER_LOCK, {"key": key, "n": n}, keep)
        abandoning = asyncio.ensure_future(pipeline.abandon())
        await asyncio.sleep(0)
        assert not abandoning.done()  # waits for the round on its way
        await holder.rollback()
    async with asyncio.timeout(10):
        await abandoning
    await pipeline.settle()  # nothing left to send
    assert answers == []  # no callback ran
    # Only the round that was on its way ran: the connection is free and in order.
    assert await db.scalar(text("SELECT 1")) == 1


async def test_a_failed_run_fails_the_pipeline(db: AsyncSession) -> None:
    pipeline = Pipeline((await below(db)).connection, round_size=10)
    failing = Statement(select(1 / bindparam("n", type_=Integer)))

    async def ignore(row: Any) -> None:
        pass

    await pipeline.add(failing, {"n": 1}, ignore)
    await pipeline.add(failing, {"n": 0}, ignore)
    with pytest.raises(asyncpg.DivisionByZeroError):
        await pipeline.settle()


# A counter row (10 / d hits: d = 0 is refused by PostgreSQL) and the transaction
# that wrote it.
_COUNTED = compile_query(
    insert(RateLimitCounter)
    .values(
        key=bindparam("key"),
        window_start=bindparam("start"),
        hits=10 / bindparam("d", type_=Integer),
        expires_at=bindparam("end"),
    )
    .returning(RateLimitCounter.hits, func.txid_current())
)


async def _counted(writer: DirectPool, keys: list[str], refused: str = "") -> list[Any]:
    now = datetime.now(UTC)
    return await asyncio.gather(
        *(
            writer.write_row(_COUNTED, key=key, start=now, end=now, d=0 if key == refused else 1)
            for key in keys
        ),
        return_exceptions=True,
    )


async def test_writes_arriving_together_are_sent_together_each_answered_its_own(
    engine: AsyncEngine, settings: Settings
) -> None:
    keys = [f"test:{uuid.uuid4()}" for _ in range(12)]
    async with counting(engine, settings, keys) as (writer, pool):
        [(first, alone)] = await _counted(writer, keys[:1])  # nothing running: sent at once
        rows = await _counted(writer, keys[1:])
        assert [first] + [hits for hits, _ in rows] == [10] * 12
        assert len({transaction for _, transaction in rows}) < 11  # grouped
        assert alone not in {transaction for _, transaction in rows}
        async with pool.acquire() as connection:
            written = await connection.fetchval(
                "SELECT count(*) FROM rate_limit_counters WHERE key = ANY($1)", keys
            )
        assert written == 12


async def test_a_refused_write_fails_alone_and_the_others_of_its_group_land_once(
    engine: AsyncEngine, settings: Settings
) -> None:
    keys = [f"test:{uuid.uuid4()}" for _ in range(6)]
    async with counting(engine, settings, keys) as (writer, pool):
        results = await _counted(writer, keys, refused=keys[3])
        assert isinstance(results[3], asyncpg.DivisionByZeroError)
        assert [r[0] for i, r in enumerate(results) if i != 3] == [10] * 5
        async with pool.acquire() as connection:
            rows = await connection.fetch(
                "SELECT key, hits FROM rate_limit_counters WHERE key = ANY($1)", keys
            )
        # The group wrote nothing when it was refused: each of the others once, alone.
        assert sorted((row["key"], row["hits"]) for row in rows) == sorted(
            (key, 10) for i, key in enumerate(keys) if i != 3
        )


async def test_writes_whose_sender_is_cancelled_leave_no_caller_waiting(
    engine: AsyncEngine, settings: Settings
) -> None:
    """The loop closing cancels the task that sends a group: its writes, and those
    waiting behind it, are cancelled too, not left waiting for an answer."""
    blocked = _AFTER_LOCK.query
    pool = await make_direct_pool(engine, settings)
    try:
        async with lock_held(engine) as (key, holder):
            writer = DirectPool(pool, acquire_timeout=5)
            calls = [
                asyncio.ensure_future(writer.write_row(blocked, key=key, n=n)) for n in range(80)
            ]
            waiting = text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )
            async with asyncio.timeout(10):  # until groups are sent, waiting for the lock
                while not await holder.scalar(waiting):
                    await asyncio.sleep(0.01)
            for sender in set(writer._senders):
                sender.cancel()
            async with asyncio.timeout(10):
                results = await asyncio.gather(*calls, return_exceptions=True)
            assert all(isinstance(r, asyncio.CancelledError) for r in results)
            await holder.rollback()
    finally:
        await pool.close()


async def test_the_report_is_planned_on_its_indexes_whatever_the_tables_hold(
    engine: AsyncEngine, settings: Settings
) -> None:
    """A direct connection keeps the generic plan it made (on a new install, of empty
    tables): it must read outgoing_emails and boards by their indexes."""
    pool = await make_direct_pool(engine, settings)
    try:
        async with pool.acquire() as connection:
            # As on a new install: the tables analyzed while empty (outside the tests'
            # transactions they are).
            await connection.execute("ANALYZE outgoing_emails, boards, managers")
            # The plan a connection caches after five runs, whatever the values.
            await connection.execute("PREPARE report AS " + _REPORT.sql)
            await connection.execute("SET plan_cache_mode = force_generic_plan")
            nulls = ", ".join(["NULL"] * len(_REPORT.parameters))
            explained = await connection.fetch(f"EXPLAIN EXECUTE report({nulls})")
            plan = "\n".join(row[0] for row in explained)
            await connection.execute("DEALLOCATE report; RESET plan_cache_mode")
    finally:
        await pool.close()
    assert "ix_outgoing_emails_recipient" in plan
    assert "Seq Scan on outgoing_emails" not in plan
    assert "Seq Scan on boards" not in plan
