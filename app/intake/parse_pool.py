"""Parsing mail in other processes, so parsing uses every core and a slow or hostile
message never holds the event loop that serves the API.

A pool of `processes` (default: the CPU count) parses a batch at once; each result is
the IncomingEmail or the exception its parse raised. With `processes=0` messages are
parsed in a thread of this process instead (through `app.intake.ingest.parse_email`,
so a test can replace the parser). A pool whose process died (a parser crash) is
replaced, and the messages it held are reported as failed.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from app.intake.parse import IncomingEmail, parse_email

Parsed = IncomingEmail | Exception


class ParsePool:
    def __init__(self, processes: int | None = None) -> None:
        self.processes = (os.cpu_count() or 1) if processes is None else processes
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # "spawn": a fresh interpreter, nothing of this process's threads, sockets
            # or event loop copied into it.
            self._pool = ProcessPoolExecutor(
                self.processes, mp_context=multiprocessing.get_context("spawn")
            )
        return self._pool

    async def parse(self, raws: Sequence[bytes | bytearray]) -> list[Parsed]:
        if not raws:
            return []
        if self.processes == 0:
            from app.intake import ingest

            return [await _in_thread(ingest.parse_email, raw) for raw in raws]
        executor = self._executor()
        futures = [asyncio.wrap_future(executor.submit(parse_email, raw)) for raw in raws]
        results = await asyncio.gather(*futures, return_exceptions=True)
        if any(isinstance(r, BrokenProcessPool) for r in results):
            self.close()
        parsed: list[Parsed] = []
        for result in results:
            if isinstance(result, IncomingEmail | Exception):
                parsed.append(result)
            else:  # a BaseException (cancellation, exit) is not the message's fault
                raise result
        return parsed

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


async def _in_thread(
    parse: Callable[[bytes | bytearray], IncomingEmail], raw: bytes | bytearray
) -> Parsed:
    try:
        return await asyncio.to_thread(parse, raw)
    except Exception as exc:
        return exc
