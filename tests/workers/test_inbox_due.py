"""An inbox made due announces it (migration 0011), and the inbox loop, resting,
wakes for the announcement instead of waiting out its second."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.workers.inbox_poller import DUE_CHANNEL, InboxPoller
from app.workers.runner import _rest
from tests.workers.helpers import query, seed_inbox

DEADLINE_SECONDS = 10.0


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {DEADLINE_SECONDS} s"
        await asyncio.sleep(0.01)


def new_inbox(database: str, name: str) -> int:
    return seed_inbox(
        database,
        manager=f"{name.lower()}@example.com",
        name=name,
        imap={"host": "127.0.0.1", "port": 1, "user": "u", "password": "p"},
        smtp=("127.0.0.1", 1),
        keywords=["printer"],
    )


async def test_an_inbox_made_due_announces_it_and_one_put_off_does_not(database: str) -> None:
    heard: list[str] = []
    listener = await asyncpg.connect(database.replace("postgresql+asyncpg", "postgresql"))
    try:
        await listener.add_listener(DUE_CHANNEL, lambda *args: heard.append(args[-1]))
        inbox_id = await asyncio.to_thread(new_inbox, database, "First")
        await until(lambda: heard == [""], "announcement of the new inbox")
        # A worker putting the inbox off till later says nothing: the barrier shows
        # what arrived before it.
        await asyncio.to_thread(
            query,
            database,
            "UPDATE email_inboxes SET next_poll_at = now() + interval '1 hour' WHERE id = :i",
            i=inbox_id,
        )
        await asyncio.to_thread(query, database, "SELECT pg_notify(:c, 'barrier')", c=DUE_CHANNEL)
        await until(lambda: heard[-1:] == ["barrier"], "the barrier")
        assert heard == ["", "barrier"]
        await asyncio.to_thread(
            query,
            database,
            "UPDATE email_inboxes SET next_poll_at = now() WHERE id = :i",
            i=inbox_id,
        )
        await until(lambda: heard[-1:] == [""], "announcement of the inbox due again")
    finally:
        await listener.close()


async def test_the_listening_poller_is_woken_by_a_new_inbox(
    database: str, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    poller = InboxPoller(settings, sessions, parse_processes=0)
    listening = asyncio.create_task(poller.listen())
    try:
        await until(poller.due.is_set, "listening")  # set once it listens
        poller.due.clear()
        await asyncio.to_thread(new_inbox, database, "Second")
        await until(poller.due.is_set, "wake-up")
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)


async def test_a_resting_loop_wakes_when_told() -> None:
    wake = asyncio.Event()
    resting = asyncio.create_task(_rest(3600, wake))
    await asyncio.sleep(0)
    assert not resting.done()
    wake.set()
    await asyncio.wait_for(resting, DEADLINE_SECONDS)
    assert not wake.is_set()  # ready for the next rest
