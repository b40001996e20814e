"""Keyword routing (SPEC 4.3, step 5): which board an email belongs to."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache


@dataclass(frozen=True)
class Candidate:
    board_id: int
    name: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Route:
    board_id: int | None  # the board, or None for standby
    reason: str | None  # no_match | ambiguous when board_id is None
    candidates: list[Candidate] = field(default_factory=list)


@lru_cache(maxsize=4096)
def _pattern(keyword: str) -> re.Pattern[str]:
    # A whole word (or phrase): no letter, digit or underscore right before or after.
    return re.compile(rf"(?<!\w){re.escape(keyword)}(?!\w)", re.IGNORECASE)


def matches(keyword: str, text: str) -> bool:
    return bool(_pattern(keyword).search(text))


def route_email(subject: str, body: str, boards: Sequence[Candidate]) -> Route:
    """Exactly one board matching → that board. Several → the one matching in the
    subject if exactly one does, else `ambiguous`. None → `no_match`."""
    in_subject = [b for b in boards if any(matches(k, subject) for k in b.keywords)]
    anywhere = [b for b in boards if b in in_subject or any(matches(k, body) for k in b.keywords)]
    if len(anywhere) == 1:
        return Route(anywhere[0].board_id, None, anywhere)
    if not anywhere:
        return Route(None, "no_match")
    if len(in_subject) == 1:
        return Route(in_subject[0].board_id, None, anywhere)
    return Route(None, "ambiguous", anywhere)
