"""The one clock: tests move time by replacing `clock.now`."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


class Clock:
    def __init__(self) -> None:
        self.now = utcnow


clock = Clock()
