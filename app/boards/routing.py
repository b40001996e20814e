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


_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class KeywordIndex:
    """The keywords of some boards by their first word, case-folded.

    A keyword that starts with a word character can only match where the text has
    that first word as a whole word of its own (the pattern allows no word character
    before it, and the keyword's first word ends where a non-word character or the
    keyword ends). So routing looks up the text's words instead of searching the text
    once per keyword, and its cost no longer grows with the number of keywords; each
    keyword found is confirmed with its exact pattern. The few that start otherwise
    ("#urgent", ".net") are searched for as before.
    """

    by_first_word: dict[str, list[tuple[int, str]]]
    others: list[tuple[int, str]]

    @classmethod
    def of(cls, boards: Sequence[Candidate]) -> KeywordIndex:
        by_first_word: dict[str, list[tuple[int, str]]] = {}
        others: list[tuple[int, str]] = []
        for position, board in enumerate(boards):
            for keyword in board.keywords:
                first = _WORD.match(keyword)
                if first is None:
                    others.append((position, keyword))
                else:
                    by_first_word.setdefault(first.group().casefold(), []).append(
                        (position, keyword)
                    )
        return cls(by_first_word, others)

    def matching(self, text: str) -> set[int]:
        """The positions of the boards with a keyword in `text`."""
        found: set[int] = set()
        words = {word.casefold() for word in _WORD.findall(text)}
        for word in words:
            for position, keyword in self.by_first_word.get(word, ()):
                if position not in found and matches(keyword, text):
                    found.add(position)
        for position, keyword in self.others:
            if position not in found and matches(keyword, text):
                found.add(position)
        return found


@lru_cache(maxsize=64)
def _index(boards: tuple[Candidate, ...]) -> KeywordIndex:
    return KeywordIndex.of(boards)


def route_email(subject: str, body: str, boards: Sequence[Candidate]) -> Route:
    """Exactly one board matching → that board. Several → the one matching in the
    subject if exactly one does, else `ambiguous`. None → `no_match`."""
    index = _index(tuple(boards))
    in_subject_at = index.matching(subject)
    anywhere_at = in_subject_at | index.matching(body)
    in_subject = [b for i, b in enumerate(boards) if i in in_subject_at]
    anywhere = [b for i, b in enumerate(boards) if i in anywhere_at]
    if len(anywhere) == 1:
        return Route(anywhere[0].board_id, None, anywhere)
    if not anywhere:
        return Route(None, "no_match")
    if len(in_subject) == 1:
        return Route(in_subject[0].board_id, None, anywhere)
    return Route(None, "ambiguous", anywhere)
