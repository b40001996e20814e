"""The worker loops' turns: mail waits while an inbox's backlog is read."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.workers import runner as runner_module
from app.workers.runner import WorkerRunner


@pytest.fixture
def rounds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The mail rounds run, in place of sending."""
    happened: list[str] = []

    async def send_due_mail(*_: object) -> int:
        happened.append("round")
        return 0

    monkeypatch.setattr(runner_module, "send_due_mail", send_due_mail)
    return happened


async def test_mail_waits_while_a_backlog_is_read_and_goes_after(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, rounds: list[str]
) -> None:
    runner = WorkerRunner(settings, sessions)
    with runner.inboxes.reading(backlog=True):
        waiting = asyncio.create_task(runner._send_mail())
        await asyncio.sleep(0.2)
        assert not waiting.done() and rounds == []
    await asyncio.wait_for(waiting, 5)
    assert rounds == ["round"]
    # One new mail is no backlog: its answer does not wait.
    with runner.inboxes.reading(backlog=False):
        await asyncio.wait_for(runner._send_mail(), 5)
    assert rounds == ["round", "round"]


async def test_a_long_backlog_still_lets_a_round_of_mail_through(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    rounds: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runner_module, "MAIL_WAITS_FOR_READING", 0.1)
    runner = WorkerRunner(settings, sessions)
    with runner.inboxes.reading(backlog=True):
        await asyncio.wait_for(runner._send_mail(), 5)
        assert rounds == ["round"]
