"""Full-text search over a board's tickets: what the words become in SQL.

Every word is a prefix (`druk` finds `Drukarka`: Polish inflects), matched against
`tickets.search_vector` through its GIN index. One case is slow that way: a word
whose prefix matches most tickets (`problem` in a helpdesk). A GIN prefix match
collects every row of every matching lexeme before it can intersect anything, so
`problem 1234` took 19 ms at 1,000,000 tickets, where `1234` alone takes 0.1 ms.

So the words that PostgreSQL's own statistics say are in at least half the tickets
(`pg_stats.most_common_elems` of the column, which ANALYZE keeps) are checked on the
rows the other words found, not looked up in the index: the same tickets match,
found from the rare words (0.1 ms for `problem 1234`). A query made only of common
words, or run before any ANALYZE, is left as it is.

And a search is planned for its own words (`plan_cache_mode = force_custom_plan`
for its transaction, `PLAN_FOR_THE_WORDS`): a prepared statement run a few times
gets a generic plan, made without knowing the words, and one plan cannot suit
both a rare word (the GIN index) and a common one (the board's newest tickets,
walked): `invoice problem` took 555 ms on the generic plan, 4.5 ms on its own.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Boolean, ColumnElement, and_, func, literal_column, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.tickets.models import Ticket

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_WORDS = 16
# A lexeme in at least this share of the tickets is common: its prefix is checked on
# the rows the other words found rather than looked up in the index.
COMMON_SHARE = 0.5
PLAN_FOR_THE_WORDS = "SET LOCAL plan_cache_mode = force_custom_plan"
# How long a process trusts the statistics it read (ANALYZE changes them rarely).
STATISTICS_SECONDS = 600.0


def search_words(text_: str) -> list[str]:
    """The words of a search, lowercased; only word characters pass, so nothing the
    user types is tsquery syntax."""
    return _WORD.findall(text_.lower())[:MAX_WORDS]


def prefix_query(words: Sequence[str]) -> str | None:
    """['druk', 'zaż'] → 'druk:* & zaż:*', or None."""
    return " & ".join(f"{w}:*" for w in words) or None


def split_common(words: Sequence[str], common: frozenset[str]) -> tuple[list[str], list[str]]:
    """(the words to look up in the index, the words to check on what they found): a
    word is common when a common lexeme starts with it (it matches at least as many
    tickets as that lexeme). All the words are looked up when none, or all, are
    common."""
    frequent = [w for w in words if any(lexeme.startswith(w) for lexeme in common)]
    rare = [w for w in words if w not in frequent]
    if not frequent or not rare:
        return list(words), []
    return rare, frequent


def search_condition(text_: str, common: frozenset[str]) -> ColumnElement[bool] | None:
    """The WHERE condition of a search, or None when it has no words."""
    looked_up, checked = split_common(search_words(text_), common)
    indexed = prefix_query(looked_up)
    if indexed is None:
        return None
    matches = Ticket.search_vector.op("@@", return_type=Boolean)
    condition = matches(func.to_tsquery("simple", indexed))
    if filtered := prefix_query(checked):
        # The same vector as an expression the GIN index does not cover: PostgreSQL
        # checks it on the rows found instead of scanning the index for it.
        unindexed = Ticket.search_vector.op("||")(literal_column("''::tsvector"))
        also = unindexed.op("@@", return_type=Boolean)(func.to_tsquery("simple", filtered))
        return and_(condition, also)
    return condition


@dataclass
class CommonLexemes:
    """The common lexemes of `tickets.search_vector`, read from PostgreSQL's
    statistics at most every STATISTICS_SECONDS in a process."""

    lexemes: frozenset[str] = frozenset()
    read_at: float | None = None

    async def get(self, session: AsyncSession) -> frozenset[str]:
        now = time.monotonic()
        if self.read_at is None or now - self.read_at > STATISTICS_SECONDS:
            self.lexemes = frozenset(
                await session.scalars(
                    text(
                        "SELECT lexeme FROM pg_stats, unnest("
                        " most_common_elems::text::text[], most_common_elem_freqs"
                        ") AS common(lexeme, share)"
                        " WHERE schemaname = current_schema() AND tablename = 'tickets'"
                        " AND attname = 'search_vector' AND lexeme IS NOT NULL"
                        " AND share >= :share"
                    ),
                    {"share": COMMON_SHARE},
                )
            )
            self.read_at = now
        return self.lexemes

    def forget(self) -> None:
        """Read them again next time (after an ANALYZE, say)."""
        self.read_at = None


common_lexemes = CommonLexemes()
