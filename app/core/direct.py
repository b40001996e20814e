"""Statements below the ORM, for the hottest routes.

The status link is the most requested page a reporter has and the public form the
most abused one; a request that goes through a session, its transaction and
SQLAlchemy's statement execution costs several times the statements themselves
(docs/performance.md). Their statements are SQLAlchemy Core statements built once
and compiled once (`Statement`), so a renamed column still fails at import, not in
production, and they run on a plain asyncpg pool (`DirectPool`) as single
statements outside any transaction: a read, or a write that is one statement (the
public report, app/tickets/submission.py).

The same `Statement` also runs through a session (`OnSession`) or on a session's own
connection inside its transaction (`OnConnection`, from `below`), so the statements
that place a report serve the mail intake and the standby queue too.

A route takes a `DirectDep` (app/core/deps.py). The app's is the pool; tests that run
the app inside their own rolled-back transaction go through that transaction instead
(`DirectSession`), so they see what they wrote and nothing leaks.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import asyncpg
from sqlalchemy import ClauseElement, select
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession

# Positional `$1` parameters, as asyncpg takes them.
_DIALECT = asyncpg_dialect(paramstyle="numeric_dollar")


@dataclass(frozen=True)
class Query:
    """A statement compiled once: its SQL, the order of its named parameters, the
    values of the ones the statement fixes itself (a literal), and the conversions
    SQLAlchemy would apply to the values (JSON to text, say)."""

    sql: str
    parameters: tuple[str, ...]
    converters: tuple[Callable[[Any], Any] | None, ...] = ()
    fixed: Mapping[str, Any] = field(default_factory=dict)

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        if self.fixed:
            values = {**self.fixed, **values}
        if not self.converters:
            return [values[name] for name in self.parameters]
        return [
            value if convert is None or value is None else convert(value)
            for value, convert in zip(
                (values[name] for name in self.parameters), self.converters, strict=True
            )
        ]


def compile_query(statement: ClauseElement) -> Query:
    compiled = statement.compile(dialect=_DIALECT)
    prefetch = [
        *getattr(compiled, "insert_prefetch", ()),
        *getattr(compiled, "update_prefetch", ()),
    ]
    if prefetch:
        # A default SQLAlchemy computes in Python (a timestamp from the app's clock)
        # is not run below the ORM: such a column must be bound by the caller.
        names = ", ".join(column.name for column in prefetch)
        raise ValueError(f"bind the columns with Python-side defaults: {names}")
    order = tuple(getattr(compiled, "positiontup", None) or ())  # None without parameters
    # The bind processors of the statement's types, by parameter (SQLCompiler's own
    # table, what executing through SQLAlchemy would apply).
    processors: Mapping[str, Any] = getattr(compiled, "_bind_processors", {})
    converters = tuple(processors.get(name) for name in order)
    binds = getattr(compiled, "binds", {})
    fixed = {
        name: compiled.params[name] for name in order if name in binds and not binds[name].required
    }
    return Query(compiled.string, order, converters if any(converters) else (), fixed)


class Statement:
    """A Core statement built once, runnable through a session as it is and on a plain
    connection as SQL compiled once."""

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self.query = compile_query(statement)


class Executor(Protocol):
    """Where the statements of the report path run: a session or a plain connection,
    always inside the caller's transaction."""

    async def scalar(self, statement: Statement, values: Mapping[str, Any]) -> Any: ...

    async def row(self, statement: Statement, values: Mapping[str, Any]) -> Sequence[Any]:
        """The statement's one row."""
        ...


@dataclass(frozen=True)
class OnSession:
    session: AsyncSession

    async def scalar(self, statement: Statement, values: Mapping[str, Any]) -> Any:
        return await self.session.scalar(statement.statement, dict(values))

    async def row(self, statement: Statement, values: Mapping[str, Any]) -> Sequence[Any]:
        return (await self.session.execute(statement.statement, dict(values))).one()


@dataclass(frozen=True)
class OnConnection:
    connection: asyncpg.Connection

    async def scalar(self, statement: Statement, values: Mapping[str, Any]) -> Any:
        query = statement.query
        return await self.connection.fetchval(query.sql, *query.arguments(values))

    async def row(self, statement: Statement, values: Mapping[str, Any]) -> Sequence[Any]:
        query = statement.query
        found = await self.connection.fetchrow(query.sql, *query.arguments(values))
        assert found is not None, "a statement of one row returned none"
        return cast(Sequence[Any], found)


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The session's asyncpg connection, with nothing begun on it: SQLAlchemy begins
    its transaction with its own first statement. A statement run there with nothing
    begun commits on its own, in one round trip instead of BEGIN, the statement and
    COMMIT (the mail worker's writes); closing the session gives the connection back."""
    raw = await (await session.connection()).get_raw_connection()
    connection = raw.driver_connection
    assert connection is not None
    return connection


async def below(session: AsyncSession) -> OnConnection:
    """The session's own connection, to run statements below the ORM inside the
    session's transaction (begun here if it was not: what is written here must be
    inside it, not beside it)."""
    connection = await driver_connection(session)
    if not connection.is_in_transaction():
        await session.execute(select(1))
    return OnConnection(connection)


# Statements a pipeline sends in one round: enough to spare a round trip each, few
# enough that the caller's next decisions overlap PostgreSQL's work on them.
PIPELINE_ROUND = 20


class Pipeline:
    """Statements of one transaction sent in rounds on its connection while the
    caller goes on: a round is one statement's runs, sent together (asyncpg's
    `fetchmany`: no waiting between them), and while PostgreSQL runs them the caller
    decides the next ones; each run's row goes to its callback, in order, once its
    round is answered (the mail intake writes a batch's reports so: app/workers/
    inbox_poller.py). One round is on the connection at a time, so anything else
    run there waits for `settle()` first."""

    def __init__(self, connection: asyncpg.Connection, *, round_size: int = PIPELINE_ROUND):
        self.connection = connection
        self.round_size = round_size
        self._pending: list[tuple[Statement, list[Any], Callable[[Any], Awaitable[None]]]] = []
        self._round: asyncio.Future[list[Any]] | None = None  # sent, not yet answered
        self._callbacks: list[Callable[[Any], Awaitable[None]]] = []

    async def add(
        self,
        statement: Statement,
        values: Mapping[str, Any],
        then: Callable[[Any], Awaitable[None]],
    ) -> None:
        """Queue one run of `statement`; `then` gets its row once it ran."""
        if self._pending and self._pending[0][0] is not statement:
            await self._send()  # a round runs one statement
        self._pending.append((statement, statement.query.arguments(values), then))
        if len(self._pending) >= self.round_size:
            await self._send()

    async def settle(self) -> None:
        """Every queued run sent, answered and handed to its callback."""
        await self._send()
        await self._answered()

    async def abandon(self) -> None:
        """Give up what is queued and what was sent (the transaction fails anyway):
        nothing more is sent, no callback runs, and the round on its way is waited
        for (its error, if any, ignored), so nothing runs on the connection when the
        caller rolls back."""
        self._pending = []
        if self._round is not None:
            sent, self._round = self._round, None
            await asyncio.gather(sent, return_exceptions=True)

    async def _send(self) -> None:
        await self._answered()
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        query = pending[0][0].query
        answer = self.connection.fetchmany(query.sql, [arguments for _, arguments, _ in pending])
        self._round = asyncio.ensure_future(answer)
        self._callbacks = [then for _, _, then in pending]

    async def _answered(self) -> None:
        if self._round is None:
            return
        rows = await self._round
        self._round = None
        for row, then in zip(rows, self._callbacks, strict=True):
            await then(row)


class Direct(Protocol):
    async def fetch(self, query: Query, **values: Any) -> list[asyncpg.Record]:
        """One statement on its own (autocommit)."""
        ...

    async def write_row(self, query: Query, **values: Any) -> asyncpg.Record:
        """The one row of one writing statement (it must return exactly one), atomic
        as every statement is, and never run twice (a write whose answer was lost may
        have committed)."""
        ...


# What a pooled connection raises when its server went away while it waited in the
# pool (a restart: the server's goodbye arrives between two reads).
_LOST_CONNECTION = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


# Writes of one statement sent together at most, and how many such groups run at
# once (one a core is plenty: each is a whole transaction's work for PostgreSQL).
WRITE_GROUP_MAX = 16
WRITE_GROUPS_AT_ONCE = 4


@dataclass
class _Writes:
    """The writes of one statement waiting to be sent, and how many groups of them
    are on their way."""

    waiting: list[tuple[list[Any], asyncio.Future[asyncpg.Record]]] = field(default_factory=list)
    running: int = 0


class DirectPool:
    """Statements on a pooled connection, each on its own (autocommit).

    Writes of one statement that arrive while others of it run are sent together,
    when those are answered: asyncpg's `fetchmany`, one round trip and one
    transaction (one commit, one WAL flush) for the group instead of one each. Under
    the public form's load a report cost PostgreSQL and the server about half as
    much so (docs/performance.md); a write that finds nothing running is sent at
    once, so nothing waits to be grouped. A group is atomic: when PostgreSQL refuses
    one of its statements nothing of it was written, and each is run again on its
    own, so only that one gets the error. A lost connection fails the whole group
    and nothing is run again (it may have committed)."""

    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float) -> None:
        self.pool = pool
        self.acquire_timeout = acquire_timeout
        self._writes: dict[str, _Writes] = {}
        self._senders: set[asyncio.Task[None]] = set()

    def _acquire(self) -> Any:
        """A pooled connection. A pool that gives none within the timeout raises
        TimeoutError, which the error handlers answer with 503 database_unavailable.
        While a connection is idle the pool hands it over without waiting, and the
        timeout (a task and a timer per acquire, 6 µs of asyncpg's 26) is left out."""
        if self.pool.get_idle_size():
            return self.pool.acquire()
        return self.pool.acquire(timeout=self.acquire_timeout)

    async def fetch(self, query: Query, **values: Any) -> list[asyncpg.Record]:
        arguments = query.arguments(values)
        for attempt in (1, 2):
            async with self._acquire() as connection:
                try:
                    result: list[asyncpg.Record] = await connection.fetch(query.sql, *arguments)
                except _LOST_CONNECTION:
                    # The server went away (a restart): every idle connection of the
                    # pool is as dead as this one. Each (this one included) is closed
                    # and replaced when next released or taken, and a read can be run
                    # again; if that fails too, the error is answered (503 when the
                    # database is still away).
                    await self.pool.expire_connections()
                    if attempt == 2:
                        raise
                else:
                    return result
        raise AssertionError("unreachable")

    async def write_row(self, query: Query, **values: Any) -> asyncpg.Record:
        writes = self._writes.setdefault(query.sql, _Writes())
        answer: asyncio.Future[asyncpg.Record] = asyncio.get_running_loop().create_future()
        writes.waiting.append((query.arguments(values), answer))
        if writes.running < WRITE_GROUPS_AT_ONCE:
            writes.running += 1
            sender = asyncio.create_task(self._send_writes(query, writes))
            self._senders.add(sender)
            sender.add_done_callback(functools.partial(self._sender_done, writes))
        return await answer

    def _sender_done(self, writes: _Writes, sender: asyncio.Task[None]) -> None:
        self._senders.discard(sender)
        writes.running -= 1
        if sender.cancelled() and not writes.running:
            # Cancelled (the loop is closing), perhaps before it began: no caller is
            # left waiting for an answer that no sender will send.
            for _, answer in writes.waiting:
                answer.cancel()
            writes.waiting.clear()

    async def _send_writes(self, query: Query, writes: _Writes) -> None:
        """Send the waiting writes, a group at a time, until none wait."""
        while writes.waiting:
            group = writes.waiting[:WRITE_GROUP_MAX]
            del writes.waiting[:WRITE_GROUP_MAX]
            try:
                await self._write_group(query, group)
            except BaseException:
                for _, answer in group:  # cancelled with its group on the way
                    answer.cancel()
                raise

    async def _write_group(
        self, query: Query, group: list[tuple[list[Any], asyncio.Future[asyncpg.Record]]]
    ) -> None:
        try:
            async with self._acquire() as connection:
                try:
                    if len(group) == 1:
                        rows = await connection.fetch(query.sql, *group[0][0])
                    else:
                        rows = await connection.fetchmany(query.sql, [a for a, _ in group])
                except asyncpg.DataError:
                    raise  # a value asyncpg could not send: nothing was run
                except _LOST_CONNECTION:
                    # Not run again: a write whose answer was lost may have committed.
                    # The other idle connections are as dead; they are replaced.
                    await self.pool.expire_connections()
                    raise
        except (asyncpg.PostgresError, asyncpg.DataError) as exc:
            if len(group) == 1:
                _answer(group[0][1], exc)
                return
            # Refused (or not sendable), the group's transaction wrote nothing, as
            # asyncpg rolls it back: each again on its own, so only that one fails.
            for write in group:
                await self._write_group(query, [write])
            return
        except Exception as exc:  # lost, or no connection to be had: all of it fails
            for _, answer in group:
                _answer(answer, exc)
            return
        if len(rows) != len(group):
            error = AssertionError(f"{len(group)} writes gave {len(rows)} rows, not one each")
            for _, answer in group:
                _answer(answer, error)
            return
        for row, (_, answer) in zip(rows, group, strict=True):
            _answer(answer, row)


def _answer(answer: asyncio.Future[asyncpg.Record], outcome: Any) -> None:
    """Hand a write's row (or error) to its caller, unless the caller is gone."""
    if answer.done():
        return
    if isinstance(outcome, BaseException):
        answer.set_exception(outcome)
    else:
        answer.set_result(outcome)


class DirectSession:
    """The same on a session's connection, inside its transaction (the tests' apps):
    a write runs in a savepoint there."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _connection(self) -> asyncpg.Connection:
        return (await below(self.session)).connection

    async def fetch(self, query: Query, **values: Any) -> list[asyncpg.Record]:
        connection = await self._connection()
        result: list[asyncpg.Record] = await connection.fetch(query.sql, *query.arguments(values))
        return result

    async def write_row(self, query: Query, **values: Any) -> asyncpg.Record:
        connection = await self._connection()
        async with connection.transaction():  # a savepoint: a failed write undoes itself
            [row] = await connection.fetch(query.sql, *query.arguments(values))
        return row
