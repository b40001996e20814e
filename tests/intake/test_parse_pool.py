"""Parsing in other processes: the same answers as in this one, every core used, and
a parser process that dies costs the message that killed it, not the pool and not
the messages it held beside that one."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
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


async def test_messages_whose_parser_process_was_killed_are_parsed_again() -> None:
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
        parsed = await parsing
        # The processes died under them, not because of them: they are parsed again.
        assert len(parsed) == 8 and all(isinstance(r, IncomingEmail) for r in parsed), parsed
        again = await pool.parse([b"Subject: after\r\n\r\nstill here\r\n"])
    finally:
        pool.close()
    assert isinstance(again[0], IncomingEmail) and again[0].subject == "after"


POISON = b"Subject: poison\r\n\r\nthis one kills the parser\r\n"


def dies_on_poison(raw: bytes | bytearray) -> IncomingEmail:
    """A parser that crashes its process (as a fault in a C extension would) on one
    message; module level, so the pool's processes import it."""
    if raw == POISON:
        os._exit(70)
    return parse_email(raw)


async def test_a_message_that_kills_its_parser_process_fails_alone() -> None:
    raws = [f"Subject: mail {n}\r\n\r\nhello {n}\r\n".encode() for n in range(9)]
    raws.insert(4, POISON)
    pool = ParsePool(2, parse=dies_on_poison)
    try:
        parsed = await pool.parse(raws)
        after = await pool.parse([b"Subject: after\r\n\r\nstill here\r\n"])
    finally:
        pool.close()
    assert isinstance(parsed[4], Exception), parsed[4]
    others = parsed[:4] + parsed[5:]
    assert [m.subject for m in others if isinstance(m, IncomingEmail)] == [
        f"mail {n}" for n in range(9)
    ]
    assert isinstance(after[0], IncomingEmail) and after[0].subject == "after"


def test_the_pool_processes_go_when_their_parent_is_killed_outright() -> None:
    owner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from app.intake.parse_pool import ParsePool; "
            "pool = ParsePool(2); pool.start(); time.sleep(3600)",
        ],
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        parent = psutil.Process(owner.pid)
        deadline = time.monotonic() + 30
        while len(children := parent.children()) < 2:
            assert time.monotonic() < deadline, "the pool did not start"
            time.sleep(0.05)
        # Its processes exist and have started (the watcher runs from their start).
        owner.kill()  # no chance to shut its pool down
        owner.wait(10)
        _, alive = psutil.wait_procs(children, timeout=10)
        assert alive == [], f"left behind: {[p.pid for p in alive]}"
    finally:
        owner.kill()
