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


async def test_a_work_that_fails_while_the_caller_is_stopped_raises_the_stop_with_its_cause() -> (
    None
):
    gate = asyncio.Event()

    async def write() -> None:
        await gate.wait()
        raise ConnectionError("the database went away")

    waiting = asyncio.create_task(to_the_end(write()))
    await asyncio.sleep(0)
    waiting.cancel()
    gate.set()
    with pytest.raises(asyncio.CancelledError) as raised:
        await waiting
    assert isinstance(raised.value.__cause__, ConnectionError)  # kept for the log
