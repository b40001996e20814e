"""A write that a shutdown must not cut in half.

A worker stops by having its tasks cancelled (SIGTERM). Most of what it does can be
cut anywhere and done again, but a few writes record what already happened outside
(a mail about to be, or just, handed to an SMTP server): cut, they leave a row that
says neither, and the next start must guess. `to_the_end` lets such a write finish
and only then raises the cancellation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def to_the_end(awaitable: Awaitable[T]) -> T:
    """Await `awaitable` to its end even when the caller is cancelled meanwhile, then
    raise that cancellation (after the work, never instead of it). The wait is as
    long as the work's own: keep it to one short statement, whose timeouts bound it.
    Cancelled again while it waits, it still waits."""
    work = asyncio.ensure_future(awaitable)
    cancelled = False
    while not work.done():
        try:
            # `wait`, unlike awaiting the task, leaves it running when this is cancelled.
            await asyncio.wait([work])
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        # The stop is what the caller hears of; a failure of the work goes with it.
        raise asyncio.CancelledError from (None if work.cancelled() else work.exception())
    return work.result()
