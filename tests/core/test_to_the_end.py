"""`to_the_end`: a write a shutdown cannot cut in half."""

from __future__ import annotations

import asyncio

import pytest

from app.core.to_the_end import to_the_end


async def test_the_work_finishes_before_the_cancellation_is_raised() -> None:
    gate, done = asyncio.Event(), []

    async def write() -> str:
        await gate.wait()
        done.append("written")
        return "written"

    waiting = asyncio.create_task(to_the_end(write()))
    await asyncio.sleep(0)  # one turn of the loop: it waits for the write now
    waiting.cancel()
    await asyncio.sleep(0)
    waiting.cancel()  # a second stop changes nothing
    assert not waiting.done()
    gate.set()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert done == ["written"]


async def test_uncancelled_it_is_the_work_itself() -> None:
    async def write() -> int:
        return 7

    async def refused() -> None:
        raise ValueError("refused")

    assert await to_the_end(write()) == 7
    with pytest.raises(ValueError, match="refused"):
        await to_the_end(refused())
