"""Counting events per key in fixed windows, in PostgreSQL so replicas share the counts."""

from __future__ import annotations

import ipaddress
import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, delete, func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import clock
from app.core.config import RateLimit
from app.core.direct import Executor, Statement
from app.ratelimit.models import RateLimitCounter


def address_key(ip: str) -> str:
    """The client's address as rate limits count it: an IPv6 client is its /64 (one
    subscriber's whole range, which it can rotate through at will); an IPv4-mapped
    address is the IPv4 address."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _window(rate: RateLimit, now: datetime) -> tuple[datetime, datetime]:
    start_epoch = math.floor(now.timestamp() / rate.period_seconds) * rate.period_seconds
    start = datetime.fromtimestamp(start_epoch, UTC)
    return start, start + timedelta(seconds=rate.period_seconds)


def _retry_after(end: datetime, now: datetime) -> int:
    return max(1, math.ceil((end - now).total_seconds()))


# Counts `step` events (1; 0 reads the count, locked) for :key in the window
# [:start, :end) and returns the window's count; `window_parameters` gives the window.
RECORD_HIT = (
    insert(RateLimitCounter)
    .values(
        key=bindparam("key"),
        window_start=bindparam("start"),
        hits=bindparam("step"),
        expires_at=bindparam("end"),
    )
    .on_conflict_do_update(
        index_elements=[RateLimitCounter.key, RateLimitCounter.window_start],
        set_={"hits": RateLimitCounter.hits + bindparam("step")},
    )
    .returning(RateLimitCounter.hits)
)
_RECORD_HIT = Statement(RECORD_HIT)  # built once: it runs on every counted request


def window_parameters(rate: RateLimit) -> dict[str, datetime]:
    start, end = _window(rate, clock.now())
    return {"start": start, "end": end}


async def record_hit(db: Executor, *, key: str, rate: RateLimit) -> int:
    """Count one event for `key` in the current window; returns the window's count."""
    values = {"key": key, "step": 1, **window_parameters(rate)}
    return int(await db.scalar(_RECORD_HIT, values))


async def undo_hit(session: AsyncSession, *, key: str, rate: RateLimit) -> None:
    """Take back one event counted in the current window (e.g. a login that succeeded)."""
    start, _ = _window(rate, clock.now())
    await session.execute(
        update(RateLimitCounter)
        .where(RateLimitCounter.key == key, RateLimitCounter.window_start == start)
        .values(hits=func.greatest(RateLimitCounter.hits - 1, 0))
    )


def retry_after(rate: RateLimit) -> int:
    """Seconds until the current window ends."""
    now = clock.now()
    return _retry_after(_window(rate, now)[1], now)


async def hit_or_refuse(db: Executor, *, key: str, rate: RateLimit) -> int | None:
    """Count the event; None when within the limit, else seconds until the window ends."""
    count = await record_hit(db, key=key, rate=rate)
    return retry_after(rate) if count > rate.limit else None


async def delete_expired(session: AsyncSession) -> int:
    result = await session.execute(
        delete(RateLimitCounter).where(RateLimitCounter.expires_at < clock.now())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
