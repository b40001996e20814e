"""The database itself rejects rows that break the model's rules."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.database import violated_constraint
from app.models import Board, BoardKeyword, Manager, ProcessedEmail, Ticket


async def make_manager(db: AsyncSession, email: str = "anna@example.com") -> Manager:
    manager = Manager(email=email, password_hash="x", full_name="Anna Nowak")
    db.add(manager)
    await db.flush()
    return manager


async def make_board(db: AsyncSession, manager: Manager, name: str = "Printers") -> Board:
    board = Board(manager_id=manager.id, name=name, public_id=uuid.uuid4().hex)
    db.add(board)
    await db.flush()
    return board


def ticket(board: Board, **overrides: Any) -> Ticket:
    fields: dict[str, Any] = {
        "uuid": uuid.uuid4(),
        "board_id": board.id,
        "title": "Printer jams",
        "reporter_email": "user@example.org",
        "source": "web",
    }
    fields.update(overrides)
    return Ticket(**fields)


async def rejected(db: AsyncSession, action: Callable[[], Awaitable[Any]]) -> str:
    """Run `action` in a savepoint and return the name of the constraint that refused it."""
    with pytest.raises(IntegrityError) as caught:
        async with db.begin_nested():
            await action()
    return violated_constraint(caught.value) or str(caught.value)


async def test_a_ticket_in_an_unknown_state_is_rejected(db: AsyncSession) -> None:
    board = await make_board(db, await make_manager(db))

    async def insert() -> None:
        db.add(ticket(board, state="open"))
        await db.flush()

    assert await rejected(db, insert) == "ck_tickets_state"
    db.add(ticket(board, state="new"))
    await db.flush()  # the same row in a known state is fine


async def test_keywords_are_unique_per_board_ignoring_case(db: AsyncSession) -> None:
    manager = await make_manager(db)
    board = await make_board(db, manager)
    other = await make_board(db, manager, "Network")
    db.add(BoardKeyword(board_id=board.id, keyword="Printer"))
    await db.flush()

    async def insert() -> None:
        db.add(BoardKeyword(board_id=board.id, keyword="PRINTER"))
        await db.flush()

    assert await rejected(db, insert) == "uq_board_keywords_board_keyword_lower"
    db.add(BoardKeyword(board_id=other.id, keyword="printer"))  # another board may use it
    await db.flush()


async def test_manager_emails_are_unique_ignoring_case(db: AsyncSession) -> None:
    await make_manager(db, "Anna@Example.com")

    async def insert() -> None:
        await make_manager(db, "anna@EXAMPLE.COM")

    assert await rejected(db, insert) == "uq_managers_email_lower"


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"title": ""}, "ck_tickets_title"),
        ({"title": "x" * 256}, "ck_tickets_title"),
        ({"description": "x" * 20_001}, "ck_tickets_description"),
        ({"source": "fax"}, "ck_tickets_source"),
        ({"language": "de"}, "ck_tickets_language"),
        ({"state": "closed"}, "ck_tickets_closed_at"),  # closed without closed_at
    ],
)
async def test_ticket_field_rules(
    db: AsyncSession, overrides: dict[str, Any], constraint: str
) -> None:
    board = await make_board(db, await make_manager(db))

    async def insert() -> None:
        db.add(ticket(board, **overrides))
        await db.flush()

    assert await rejected(db, insert) == constraint


async def test_keywords_must_be_trimmed_and_short(db: AsyncSession) -> None:
    board = await make_board(db, await make_manager(db))
    for keyword, constraint in (
        (" printer", "ck_board_keywords_keyword_trimmed"),
        ("x" * 101, "ck_board_keywords_keyword_length"),
    ):

        async def insert(keyword: str = keyword) -> None:
            db.add(BoardKeyword(board_id=board.id, keyword=keyword))
            await db.flush()

        assert await rejected(db, insert) == constraint


async def test_a_board_with_tickets_cannot_be_deleted(db: AsyncSession) -> None:
    board = await make_board(db, await make_manager(db))
    db.add(ticket(board))
    await db.flush()

    async def delete() -> None:
        await db.execute(text("DELETE FROM boards WHERE id = :id"), {"id": board.id})

    assert await rejected(db, delete) == "fk_tickets_board_id_boards"


async def test_the_same_email_is_recorded_once_per_inbox(db: AsyncSession) -> None:
    manager = await make_manager(db)
    await db.execute(
        text(
            "INSERT INTO email_inboxes (manager_id, name, email_address, imap_host) "
            "VALUES (:m, 'Support', 'help@example.com', 'imap.example.com')"
        ),
        {"m": manager.id},
    )
    inbox_id = (await db.execute(text("SELECT max(id) FROM email_inboxes"))).scalar_one()
    row = {
        "email_inbox_id": inbox_id,
        "message_id": "<a@b>",
        "content_hash": "0" * 64,
        "outcome": "ticket",
    }
    db.add(ProcessedEmail(**row))
    await db.flush()

    async def insert() -> None:
        db.add(ProcessedEmail(**row))
        await db.flush()

    assert await rejected(db, insert) == (
        "uq_processed_emails_email_inbox_id_message_id_content_hash"
    )
