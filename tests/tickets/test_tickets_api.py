"""A board's tickets for its manager: list, search, pages, detail, state changes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from app import migrations
from app.boards.models import Board
from app.core.config import Settings
from app.core.pagination import keyset_query
from app.main import create_app
from app.outbox.models import OutgoingEmail
from app.outbox.outgoing import build_message, render_claimed
from app.tickets.models import Ticket
from app.tickets.notifications import REPORTER_MAIL_CAP
from app.tickets.service import TICKET_ORDER, ticket_filter
from tests.auth.helpers import PASSWORD, bearer, login, signed_in
from tests.boards.test_boards_api import make_board
from tests.database import DatabaseServer, statements_during

API = "/api/v1"


async def report(
    client: httpx.AsyncClient, board: dict[str, object], title: str, **extra: str
) -> str:
    body = {
        "title": title,
        "description": extra.pop("description", "details"),
        "email": extra.pop("email", "jan@example.org"),
        **extra,
    }
    response = await client.post(f"{API}/public/boards/{board['public_id']}/tickets", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["uuid"])


async def titles(
    client: httpx.AsyncClient, auth: dict[str, str], board_id: object, **params: str
) -> list[str]:
    response = await client.get(f"{API}/boards/{board_id}/tickets", params=params, headers=auth)
    assert response.status_code == 200, response.text
    return [t["title"] for t in response.json()["items"]]


async def test_filters_and_polish_full_text_search(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    auth = await signed_in(client, db)
    board = await make_board(client, auth)
    await report(client, board, "Zażółć gęślą jaźń", description="test znaków")
    await report(client, board, "Drukarka nie drukuje", description="Papier się zacina")
    await report(client, board, "Monitor flickers", description="Since the update")
    listed = await client.get(f"{API}/boards/{board['id']}/tickets", headers=auth)
    first = listed.json()["items"][0]
    assert set(first) >= {
        "id",
        "uuid",
        "title",
        "description",
        "reporter_email",
        "reporter_name",
        "source",
        "state",
        "language",
        "created_at",
        "updated_at",
    }
    assert await titles(client, auth, board["id"]) == [
        "Monitor flickers",
        "Drukarka nie drukuje",
        "Zażółć gęślą jaźń",
    ]
    assert await titles(client, auth, board["id"], q="zażółć") == ["Zażółć gęślą jaźń"]
    assert await titles(client, auth, board["id"], q="ZAŻÓŁĆ") == ["Zażółć gęślą jaźń"]
    assert await titles(client, auth, board["id"], q="drukarka") == ["Drukarka nie drukuje"]
    assert await titles(client, auth, board["id"], q="druk") == ["Drukarka nie drukuje"]
    assert await titles(client, auth, board["id"], q="zacina") == ["Drukarka nie drukuje"]
    assert await titles(client, auth, board["id"], q="update flickers") == ["Monitor flickers"]
    assert await titles(client, auth, board["id"], q="nothing-like-this") == []
    assert await titles(client, auth, board["id"], q="&|!():*") == [
        "Monitor flickers",
        "Drukarka nie drukuje",
        "Zażółć gęślą jaźń",
    ]  # no syntax errors

    monitor = listed.json()["items"][0]["id"]
    await client.post(
        f"{API}/tickets/{monitor}/transitions", json={"to_state": "closed"}, headers=auth
    )
    assert await titles(client, auth, board["id"], state="closed") == ["Monitor flickers"]
    assert await titles(client, auth, board["id"], state="new", source="web") == [
        "Drukarka nie drukuje",
        "Zażółć gęślą jaźń",
    ]
    assert await titles(client, auth, board["id"], source="email") == []
    bad = await client.get(
        f"{API}/boards/{board['id']}/tickets", params={"state": "open"}, headers=auth
    )
    assert bad.status_code == 422


async def test_a_page_checks_its_board_owner_in_its_own_query(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    auth = await signed_in(client, db)
    board = await make_board(client, auth)
    empty = await make_board(client, auth, "Empty")
    await report(client, board, "Printer jams")
    other = await signed_in(client, db, email="other@example.com")
    statements = statements_during(db)
    assert await titles(client, auth, board["id"]) == ["Printer jams"]
    # The bearer's manager, then the page with the owner's check inside it.
    assert len(statements) == 2, statements
    assert statements[1].startswith("SELECT tickets.") and "boards.manager_id" in statements[1]
    # Only an empty page asks whether the board is the manager's at all.
    assert await titles(client, auth, empty["id"]) == []
    for query in ("", "?q=printer"):
        answer = await client.get(f"{API}/boards/{board['id']}/tickets{query}", headers=other)
        assert (answer.status_code, answer.json()["code"]) == (404, "not_found")


async def test_pages_neither_skip_nor_repeat_when_tickets_arrive(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    auth = await signed_in(client, db)
    board = await make_board(client, auth)
    for i in range(7):
        await report(client, board, f"T{i}")
    seen: list[str] = []
    page = (
        await client.get(f"{API}/boards/{board['id']}/tickets", params={"limit": 3}, headers=auth)
    ).json()
    seen += [t["title"] for t in page["items"]]
    await report(client, board, "Arrived between pages")
    while page["next_cursor"]:
        page = (
            await client.get(
                f"{API}/boards/{board['id']}/tickets",
                params={"limit": 3, "cursor": page["next_cursor"]},
                headers=auth,
            )
        ).json()
        seen += [t["title"] for t in page["items"]]
    assert seen == [f"T{i}" for i in range(6, -1, -1)]


async def test_state_machine_and_history(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    auth = await signed_in(client, db)
    board = await make_board(client, auth)
    await report(client, board, "Jam", language="pl")
    ticket_id = (await client.get(f"{API}/boards/{board['id']}/tickets", headers=auth)).json()[
        "items"
    ][0]["id"]
    move = f"{API}/tickets/{ticket_id}/transitions"

    started = await client.post(
        move,
        json={"to_state": "in_progress", "comment": "Sprawdzamy", "internal_note": "call vendor"},
        headers=auth,
    )
    assert started.status_code == 200 and started.json()["state"] == "in_progress"
    backwards = await client.post(move, json={"to_state": "new"}, headers=auth)
    assert backwards.status_code == 409 and backwards.json()["code"] == "invalid_transition"
    same = await client.post(move, json={"to_state": "in_progress"}, headers=auth)
    assert same.status_code == 409
    closed = await client.post(
        move, json={"to_state": "closed", "comment": "Naprawione"}, headers=auth
    )
    assert closed.status_code == 200 and closed.json()["closed_at"] is not None
    for target in ("rejected", "in_progress", "new", "closed"):
        final = await client.post(move, json={"to_state": target}, headers=auth)
        assert final.status_code == 409, target
    assert (await client.post(move, json={"to_state": "open"}, headers=auth)).status_code == 422

    detail = (await client.get(f"{API}/tickets/{ticket_id}", headers=auth)).json()
    me = (await client.get(f"{API}/me", headers=auth)).json()
    assert [
        (h["from_state"], h["to_state"], h["comment"], h["internal_note"], h["changed_by"])
        for h in detail["history"]
    ] == [
        (None, "new", None, None, None),
        ("new", "in_progress", "Sprawdzamy", "call vendor", me["id"]),
        ("in_progress", "closed", "Naprawione", None, me["id"]),
    ]
    assert detail["status_url"].endswith(f"/t/{detail['uuid']}")

    mails = list(
        await db.scalars(
            select(OutgoingEmail)
            .where(OutgoingEmail.to_address == "jan@example.org")
            .order_by(OutgoingEmail.id)
        )
    )
    assert [m.kind for m in mails] == ["ticket_received", "ticket_status", "ticket_status"]
    render_claimed(mails[-1], settings)  # as the mail worker does
    notice = build_message(mails[-1], settings)
    text = notice.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert notice["Content-Language"] == "pl" and "zamknięte" in text and "Naprawione" in text
    assert "call vendor" not in text


async def test_mail_to_one_reporter_is_capped(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    app.state.settings = settings.model_copy(update={"PUBLIC_SUBMIT_RATE_LIMIT": "100/minute"})
    auth = await signed_in(client, db)
    board = await make_board(client, auth)
    attempts = REPORTER_MAIL_CAP + 3
    for i in range(attempts):
        await report(
            client, board, f"T{i}", email="Victim@Example.org" if i % 2 else "victim@example.org"
        )
    tickets = (
        await client.get(f"{API}/boards/{board['id']}/tickets", params={"limit": 100}, headers=auth)
    ).json()["items"]
    mails = list(
        await db.scalars(
            select(OutgoingEmail).where(OutgoingEmail.to_address.ilike("victim@example.org"))
        )
    )
    assert len(tickets) == attempts  # every report is kept
    assert len(mails) == REPORTER_MAIL_CAP  # but one address gets at most the cap an hour


@pytest.fixture(scope="module")
def committed_url(db_server: DatabaseServer) -> Iterator[str]:
    with db_server.fresh("race") as url:
        migrations.upgrade(url)
        yield url


@pytest.fixture
async def real_client(committed_url: str, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its own engine: every request commits, as in production."""
    app = create_app(settings.model_copy(update={"DATABASE_URL": committed_url}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tracker.test") as c:
            yield c


async def test_two_concurrent_moves_cannot_both_win(real_client: httpx.AsyncClient) -> None:
    from app.auth.service import create_manager
    from app.core.database import make_engine, make_sessionmaker, request_transaction

    settings: Settings = real_client._transport.app.state.settings  # type: ignore[attr-defined]
    engine = make_engine(str(settings.DATABASE_URL), settings)
    async with make_sessionmaker(engine)() as session, request_transaction(session):
        await create_manager(
            session, email="race@example.com", password=PASSWORD, full_name="Race", verified=True
        )
    await engine.dispose()
    auth = bearer((await login(real_client, "race@example.com")).json()["access_token"])
    board = await make_board(real_client, auth, "Race board")
    for round_ in range(5):
        await report(real_client, board, f"R{round_}", email=f"r{round_}@example.org")
    tickets = (await real_client.get(f"{API}/boards/{board['id']}/tickets", headers=auth)).json()[
        "items"
    ]
    for ticket in tickets:
        move = f"{API}/tickets/{ticket['id']}/transitions"
        answers = await asyncio.gather(
            real_client.post(move, json={"to_state": "closed", "comment": "A"}, headers=auth),
            real_client.post(move, json={"to_state": "rejected", "comment": "B"}, headers=auth),
        )
        assert sorted(a.status_code for a in answers) == [200, 409]
        history = (await real_client.get(f"{API}/tickets/{ticket['id']}", headers=auth)).json()[
            "history"
        ]
        assert len(history) == 2  # creation + exactly one move


async def test_concurrent_reports_from_one_address_get_exactly_the_limit(
    real_client: httpx.AsyncClient,
) -> None:
    """The count is read first and taken last: reports racing past the first look are
    refused at the end, with all they wrote."""
    from app.auth.service import create_manager
    from app.core.database import make_engine, make_sessionmaker, request_transaction

    settings: Settings = real_client._transport.app.state.settings  # type: ignore[attr-defined]
    engine = make_engine(str(settings.DATABASE_URL), settings)
    async with make_sessionmaker(engine)() as session, request_transaction(session):
        await create_manager(
            session, email="burst@example.com", password=PASSWORD, full_name="B", verified=True
        )
    auth = bearer((await login(real_client, "burst@example.com")).json()["access_token"])
    board = await make_board(real_client, auth, "Burst board")
    limit = settings.public_submit_rate.limit
    url = f"{API}/public/boards/{board['public_id']}/tickets"
    # An address of its own: other tests' reports from the default one count too.
    app = real_client._transport.app  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app, client=("198.18.7.7", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://tracker.test") as burst:
        answers = await asyncio.gather(
            *(
                burst.post(
                    url, json={"title": f"T{i}", "description": "d", "email": f"b{i}@example.org"}
                )
                for i in range(limit + 6)
            )
        )
    assert sorted(a.status_code for a in answers) == [201] * limit + [429] * 6
    async with make_sessionmaker(engine)() as session:
        stored = await session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.board_id == board["id"])
        )
    await engine.dispose()
    assert stored == limit


async def test_the_source_filter_reads_only_that_source(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """A flood of web reports does not stand between the page and a board's newest
    e-mail reports: the filter's own index finds them, none of the flood is read."""
    auth = await signed_in(client, db)
    board = await make_board(client, auth)
    board_id = board["id"]
    assert isinstance(board_id, int)
    owner = (await db.scalars(select(Board.manager_id).where(Board.id == board_id))).one()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for number in range(430):
        db.add(
            Ticket(
                uuid=uuid.uuid4(),
                board_id=board_id,
                title=f"Report {number}",
                description="",
                reporter_email="jan@example.org",
                source="email" if number < 30 else "web",  # the web flood is newest
                language="en",
                created_at=start + timedelta(minutes=number),
            )
        )
    await db.flush()
    await db.execute(text("ANALYZE tickets"))
    # Which index walks the board newest first: on a table this small a sequential scan
    # or a bitmap would win, as they never do for a page of a large board.
    await db.execute(text("SET LOCAL enable_seqscan = off"))
    await db.execute(text("SET LOCAL enable_bitmapscan = off"))
    page = keyset_query(
        ticket_filter(board_id, owner, state=None, source="email", q=None),
        key=TICKET_ORDER,
        limit=25,
        cursor=None,
    )
    sql = page.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    plan = "\n".join(await db.scalars(text(f"EXPLAIN (ANALYZE) {sql}")))
    assert "ix_tickets_board_source_created" in plan, plan
    assert "Rows Removed by Filter" not in plan, plan
    found = await titles(client, auth, board_id, source="email")
    assert found == [f"Report {number}" for number in range(29, 4, -1)]
