"""Parsing in other processes: the same answers as in this one, every core used, and
a parser process that dies costs its messages, not the pool."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import psutil

from app.intake.parse import IncomingEmail, parse_email
from app.intake.parse_pool import ParsePool
from tests.intake.bombs import BOMBS

SAMPLES = sorted((Path(__file__).parent / "samples").glob("*.eml"))


async def test_the_pool_parses_as_this_process_does() -> None:
    raws = [path.read_bytes() for path in SAMPLES]
    assert raws
    pool = ParsePool(2)
    try:
        parsed = await pool.parse(raws)
    finally:
        pool.close()
    assert parsed == [parse_email(raw) for raw in raws]


async def test_a_slow_message_is_parsed_beside_the_event_loop_not_on_it() -> None:
    """While the pool parses the mail bombs, this event loop keeps ticking: a request
    would be answered meanwhile."""
    raws = [build() for build in BOMBS.values()]
    pool = ParsePool(1)  # one process: a core is left for this loop
    try:
        await pool.parse([b"Subject: warm-up\r\n\r\nhello\r\n"] * 2)  # processes started
        parsing = asyncio.ensure_future(pool.parse(raws))
        worst = 0.0
        while not parsing.done():
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            worst = max(worst, time.perf_counter() - before - 0.01)
        results = await parsing
    finally:
        pool.close()
    assert all(isinstance(r, IncomingEmail) for r in results), results
    assert worst < 0.1, f"the event loop stalled for {worst * 1000:.0f} ms"


async def test_a_parser_process_that_dies_fails_its_messages_and_the_pool_recovers() -> None:
    pool = ParsePool(2)
    try:
        await pool.parse([b"Subject: warm-up\r\n\r\nhello\r\n"] * 2)
        children = [
            c
            for c in psutil.Process(os.getpid()).children()
            if "spawn_main" in " ".join(c.cmdline())
        ]
        idle = sum(c.cpu_times().user for c in children)
        slow = [BOMBS["html"]()] * 8  # over a second of parsing in all
        parsing = asyncio.ensure_future(pool.parse(slow))
        deadline = time.monotonic() + 10
        while sum(c.cpu_times().user for c in children) < idle + 0.05:  # at work
            assert time.monotonic() < deadline, "the parser processes never started"
            await asyncio.sleep(0.005)
        for child in children:
            os.kill(child.pid, signal.SIGKILL)
        failed = await parsing
        assert failed and all(isinstance(r, Exception) for r in failed), failed
        again = await pool.parse([b"Subject: after\r\n\r\nstill here\r\n"])
    finally:
        pool.close()
    assert isinstance(again[0], IncomingEmail) and again[0].subject == "after"
