"""Full-text search: a word most tickets hold is checked on what the others found."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.tickets.models import Ticket
from app.tickets.search import CommonLexemes, common_lexemes, search_condition, split_common
from tests.auth.helpers import signed_in
from tests.boards.test_boards_api import make_board
from tests.database import statements_during
from tests.tickets.test_tickets_api import API, titles


def test_a_word_is_common_when_a_common_lexeme_starts_with_it() -> None:
    common = frozenset({"problem", "the"})
    assert split_common(["prob", "1234"], common) == (["1234"], ["prob"])
    assert split_common(["1234", "problem", "modem"], common) == (["1234", "modem"], ["problem"])
    # All common, or none: every word is looked up in the index.
    assert split_common(["problem", "the"], common) == (["problem", "the"], [])
    assert split_common(["modem", "1234"], common) == (["modem", "1234"], [])
    assert split_common(["problemy"], common) == (["problemy"], [])  # longer: not common


def test_the_common_words_are_a_condition_the_index_does_not_cover() -> None:
    split = str(search_condition("Problem 1234", frozenset({"problem"})))
    assert "search_vector @@ to_tsquery" in split
    assert "(tickets.search_vector || ''::tsvector) @@ to_tsquery" in split
    plain = str(search_condition("Problem 1234", frozenset()))
    assert "::tsvector" not in plain
    assert search_condition("&|!", frozenset({"problem"})) is None


@pytest.fixture
def fresh_statistics() -> Iterator[None]:
    common_lexemes.forget()
    yield
    common_lexemes.forget()  # this test's statistics are rolled back with it


async def test_a_search_with_a_word_in_every_ticket_finds_the_same_tickets(
    client: httpx.AsyncClient, db: AsyncSession, fresh_statistics: None
) -> None:
    auth = await signed_in(client, db)
    board = await make_board(client, auth)
    for number in range(300):
        db.add(
            Ticket(
                uuid=uuid.uuid4(),
                board_id=board["id"],
                title=f"Problem {number} with the printer" if number % 50 else f"Problem {number}",
                description="Problem reported",
                reporter_email="jan@example.org",
                source="web",
                language="en",
            )
        )
    await db.flush()
    await db.execute(text("ANALYZE tickets"))
    assert "problem" in await CommonLexemes().get(db)

    statements = statements_during(db)
    found = await titles(client, auth, board["id"], q="problem 1234 printer")
    assert found == []  # no ticket 1234
    found = await titles(client, auth, board["id"], q="problem 10")
    searches = [s for s in statements if "to_tsquery" in s]
    assert len(searches) == 2
    # Planned for the words given, not once for any words (app/tickets/search.py).
    assert statements.count("SET LOCAL plan_cache_mode = force_custom_plan") == 2
    # The common word still has to match: ticket 100 lacks `printer`, 101 has it.
    assert await titles(client, auth, board["id"], q="printer 100") == []
    assert await titles(client, auth, board["id"], q="printer 101") == [
        "Problem 101 with the printer"
    ]
    assert all("(tickets.search_vector || ''::tsvector) @@ to_tsquery" in s for s in searches)
    # `10:*` matches 10, 100..109: as the plain query finds them.
    expected = await db.scalars(
        select(Ticket.title)
        .where(
            Ticket.board_id == board["id"],
            Ticket.search_vector.op("@@")(func.to_tsquery("simple", "problem:* & 10:*")),
        )
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
    )
    assert found == list(expected) and len(found) == 11
    # The response's shape is the list's.
    listed = await client.get(
        f"{API}/boards/{board['id']}/tickets", params={"q": "problem 10"}, headers=auth
    )
    assert listed.status_code == 200 and len(listed.json()["items"]) == 11
