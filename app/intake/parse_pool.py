"""Parsing mail in other processes, so parsing uses every core and a slow or hostile
message never holds the event loop that serves the API.

A pool of `processes` (default: the CPU count) parses a batch at once, in one share
per process (one job per message cost more in passing it between processes than in
parsing it); each result is the IncomingEmail or the exception its parse raised.
With `processes=0` messages are parsed in a thread of this process instead (through
`app.intake.ingest.parse_email`, so a test can replace the parser). A pool whose
process died (a parser crash) is replaced; the messages of the share it held are
parsed again one job each, so only the message that kills a process is reported as
failed.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from app.core.lifeline import when_parent_gone
from app.intake.parse import IncomingEmail, parse_email

Parsed = IncomingEmail | Exception


class ParsePool:
    def __init__(
        self,
        processes: int | None = None,
        parse: Callable[[bytes | bytearray], IncomingEmail] = parse_email,
    ) -> None:
        self.processes = (os.cpu_count() or 1) if processes is None else processes
        self.parse_one = parse  # a module-level function: the processes import it
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # "spawn": a fresh interpreter, nothing of this process's threads, sockets
            # or event loop copied into it.
            self._pool = ProcessPoolExecutor(
                self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_follow,
                initargs=(os.getpid(),),
            )
        return self._pool

    def start(self) -> None:
        """Start the processes now, if they are not running (each imports the parser
        once, which takes a while), so the first mail does not wait for them."""
        if self.processes and self._pool is None:
            executor = self._executor()
            for _ in range(self.processes):
                executor.submit(_ready)

    async def parse(self, raws: Sequence[bytes | bytearray]) -> list[Parsed]:
        if not raws:
            return []
        if self.processes == 0:
            from app.intake import ingest

            return [await _in_thread(ingest.parse_email, raw) for raw in raws]
        size = -(-len(raws) // self.processes)  # ceiling division
        shares = [list(raws[i : i + size]) for i in range(0, len(raws), size)]
        parsed: list[Parsed] = []
        jobs = [(self.parse_one, share) for share in shares]
        for share, result in zip(shares, await self._run(_parse_share, jobs), strict=True):
            if isinstance(result, BrokenProcessPool):
                # A message of this share killed its process: one job per message now.
                parsed.extend(await self._parse_one_by_one(share))
            elif isinstance(result, list):
                parsed.extend(result)
            else:
                parsed.extend(result for _ in share)
        return parsed

    async def _parse_one_by_one(self, raws: list[bytes | bytearray]) -> list[Parsed]:
        """One job at a time: a message that kills its process again breaks the pool
        under no other message."""
        parsed: list[Parsed] = []
        for raw in raws:
            [result] = await self._run(self.parse_one, [raw])
            parsed.append(result)
        return parsed

    async def _run(self, function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """`function` of each item in the pool; each result or the exception raised.
        A pool whose process died is replaced."""
        executor = self._executor()
        futures = [asyncio.wrap_future(executor.submit(function, item)) for item in items]
        results = await asyncio.gather(*futures, return_exceptions=True)
        if any(isinstance(r, BrokenProcessPool) for r in results):
            self.close()
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result  # a BaseException (cancellation, exit) is not the message's fault
        return results

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _follow(parent: int) -> None:
    """In each pool process: exit once the process that started the pool is gone."""
    when_parent_gone(parent, lambda: os._exit(0))


def _ready() -> None:
    """Nothing: run once per process to start it (importing this module imports the
    parser)."""


def _parse_share(
    job: tuple[Callable[[bytes | bytearray], IncomingEmail], list[bytes | bytearray]],
) -> list[Parsed]:
    """Parse each message of a share in this process; a parse that raises is that
    message's result."""
    parse, raws = job
    results: list[Parsed] = []
    for raw in raws:
        try:
            results.append(parse(raw))
        except Exception as exc:
            results.append(exc)
    return results


async def _in_thread(
    parse: Callable[[bytes | bytearray], IncomingEmail], raw: bytes | bytearray
) -> Parsed:
    try:
        return await asyncio.to_thread(parse, raw)
    except Exception as exc:
        return exc
