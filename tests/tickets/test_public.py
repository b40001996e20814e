"""The public form and the status link, as an end user meets them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service as accounts
from app.core.config import Settings
from app.core.deps import get_direct
from app.core.direct import Direct, DirectSession, Query
from app.integrations.models import ExternalTicket
from app.outbox.models import OutgoingEmail
from app.outbox.outgoing import build_message, render_claimed
from app.tickets import service as tickets
from app.tickets.models import Ticket, TicketStatusChange
from tests.auth.helpers import signed_in
from tests.boards.test_boards_api import make_board
from tests.database import driver_statements_during, statements_during

API = "/api/v1"
REPORT = {"title": "Printer jams", "description": "Every second page.", "email": "jan@example.org"}


async def board_and_auth(
    client: httpx.AsyncClient, db: AsyncSession, **kw: str
) -> tuple[dict[str, object], dict[str, str]]:
    auth = await signed_in(client, db, **kw)
    return await make_board(client, auth, "Printers", description="Paper things"), auth


def submit_url(board: dict[str, object]) -> str:
    return f"{API}/public/boards/{board['public_id']}/tickets"


async def count(db: AsyncSession, model: type) -> int:
    return int(await db.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
async def other_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.50", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://tracker.test") as c:
        yield c


async def test_board_info_for_the_form(client: httpx.AsyncClient, db: AsyncSession) -> None:
    board, _ = await board_and_auth(client, db)
    info = await client.get(f"{API}/public/boards/{board['public_id']}")
    assert info.json() == {"name": "Printers", "description": "Paper things"}
    unknown = await client.get(f"{API}/public/boards/nope-nope-nope-nope-nope")
    assert unknown.status_code == 404 and unknown.json()["code"] == "board_unavailable"


async def test_a_report_becomes_a_ticket_with_an_acknowledgement(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    board, _ = await board_and_auth(client, db)
    long_title = "Printer jams " + "again and again " * 20
    response = await client.post(
        submit_url(board),
        json={**REPORT, "title": long_title[:255], "name": "Jan Kowalski"},
        headers={"Accept-Language": "pl-PL,pl;q=0.9"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status_url"] == f"http://tracker.test/t/{body['uuid']}"

    ticket = await db.scalar(select(Ticket).where(Ticket.uuid == uuid.UUID(body["uuid"])))
    assert ticket is not None
    assert (ticket.source, ticket.state, ticket.language) == ("web", "new", "pl")
    assert ticket.reporter_name == "Jan Kowalski"
    [first] = await db.scalars(
        select(TicketStatusChange).where(TicketStatusChange.ticket_id == ticket.id)
    )
    assert (first.from_state, first.to_state, first.changed_by_manager_id) == (None, "new", None)

    [mail] = await db.scalars(
        select(OutgoingEmail).where(OutgoingEmail.to_address == REPORT["email"])
    )
    # Queued unrendered, with its template's values; the mail worker renders it.
    assert (mail.subject, mail.text_body, mail.message_id) == (None, None, None)
    assert mail.template_values is not None
    assert mail.template_values["values"]["board_name"] == "Printers"
    render_claimed(mail, settings)
    assert mail.template_values is None
    message = build_message(mail, settings)
    assert message["Content-Language"] == "pl"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["Message-ID"] == mail.message_id and mail.ticket_uuid == ticket.uuid
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert body["status_url"] in text
    assert long_title[:79] + "…" in text and long_title[:81] not in text  # cut to 80
    assert "Every second page" not in text and "Jan Kowalski" not in text
    assert str(message["Subject"]).startswith("Otrzymaliśmy Twoje zgłoszenie: Printer jams")


async def test_the_honeypot_answers_201_and_keeps_nothing(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    board, _ = await board_and_auth(client, db)
    before = (await count(db, Ticket), await count(db, OutgoingEmail))
    trapped = await client.post(submit_url(board), json={**REPORT, "website": "http://spam"})
    assert trapped.status_code == 201
    fake = trapped.json()["uuid"]
    assert (await count(db, Ticket), await count(db, OutgoingEmail)) == before
    assert (await client.get(f"{API}/public/tickets/{fake}")).status_code == 404


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 256}, "title"),
        ({"description": "x" * 20_001}, "description"),
        ({"description": ""}, "description"),
        ({"email": "not an email"}, "email"),
        ({"name": "n" * 201}, "name"),
        ({"language": "de"}, "language"),
    ],
)
async def test_field_limits(
    client: httpx.AsyncClient, db: AsyncSession, overrides: dict[str, str], field: str
) -> None:
    board, _ = await board_and_auth(client, db)
    response = await client.post(submit_url(board), json={**REPORT, **overrides})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert field in {e["field"] for e in response.json()["errors"]}
    assert await count(db, Ticket) == 0


async def test_the_largest_allowed_report_is_accepted(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    board, _ = await board_and_auth(client, db)
    response = await client.post(
        submit_url(board), json={**REPORT, "title": "t" * 255, "description": "d" * 20_000}
    )
    assert response.status_code == 201


async def test_reports_are_rate_limited_per_address(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
) -> None:
    board, _ = await board_and_auth(client, db)
    limit = settings.public_submit_rate.limit
    for _ in range(limit):
        assert (await client.post(submit_url(board), json=REPORT)).status_code == 201
    limited = await client.post(submit_url(board), json=REPORT)
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited" and "Retry-After" in limited.headers
    assert await count(db, Ticket) == limit
    assert (await other_client.post(submit_url(board), json=REPORT)).status_code == 201


async def test_archived_boards_and_suspended_managers_take_nothing(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    board, auth = await board_and_auth(client, db)
    await client.post(f"{API}/boards/{board['id']}/archive", headers=auth)
    archived = await client.post(submit_url(board), json=REPORT)
    assert archived.status_code == 404
    await client.post(f"{API}/boards/{board['id']}/unarchive", headers=auth)
    await accounts.set_suspended(db, email="anna@example.com", suspended=True)
    await db.commit()
    assert (await client.post(submit_url(board), json=REPORT)).status_code == 404
    assert (await client.get(f"{API}/public/boards/{board['public_id']}")).status_code == 404
    assert await count(db, Ticket) == 0


async def test_the_status_link_shows_public_history_only(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    board, auth = await board_and_auth(client, db)
    created = (await client.post(submit_url(board), json=REPORT)).json()
    ticket_id = (await client.get(f"{API}/boards/{board['id']}/tickets", headers=auth)).json()[
        "items"
    ][0]["id"]
    await client.post(
        f"{API}/tickets/{ticket_id}/transitions",
        json={"to_state": "in_progress", "comment": "On it!", "internal_note": "toner again"},
        headers=auth,
    )
    status = await client.get(f"{API}/public/tickets/{created['uuid']}")
    assert status.status_code == 200
    body = status.json()
    assert body["kind"] == "ticket" and body["state"] == "in_progress"
    assert body["title"] == "Printer jams" and body["board_name"] == "Printers"
    assert [(h["from_state"], h["to_state"], h["comment"]) for h in body["history"]] == [
        (None, "new", None),
        ("new", "in_progress", "On it!"),
    ]
    assert "jan@example.org" not in status.text and "toner again" not in status.text
    for unknown in (str(uuid.uuid4()), "not-a-uuid"):
        missing = await client.get(f"{API}/public/tickets/{unknown}")
        assert missing.status_code == 404 and set(missing.json()) == {"detail", "code"}


async def test_uuids_never_collide_across_tickets_and_external_tickets(
    client: httpx.AsyncClient, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    board, _ = await board_and_auth(client, db)
    first = uuid.UUID((await client.post(submit_url(board), json=REPORT)).json()["uuid"])
    forwarded = uuid.uuid4()
    db.add(
        ExternalTicket(
            uuid=forwarded,
            board_id=board["id"],
            platform="jira",
            title="t",
            reporter_email="x@example.org",
            source="web",
        )
    )
    await db.flush()
    fresh = uuid.uuid4()
    draws = iter([first, forwarded, fresh])
    monkeypatch.setattr(tickets, "generate_uuid", lambda: next(draws))
    second = await client.post(submit_url(board), json=REPORT)
    assert second.status_code == 201
    assert second.json()["uuid"] == str(fresh)  # both taken UUIDs were passed over


async def test_a_title_with_line_breaks_still_gets_its_mail(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    board, _ = await board_and_auth(client, db)
    await client.post(submit_url(board), json={**REPORT, "title": "Printer\nbroken\r\nagain"})
    [mail] = await db.scalars(select(OutgoingEmail))
    render_claimed(mail, settings)
    message = build_message(mail, settings)  # a header with a line break would raise
    assert "Printer broken again" in str(message["Subject"])


async def test_probing_unknown_boards_is_rate_limited_too(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    url = f"{API}/public/boards/no-such-board-at-all-xx/tickets"
    for _ in range(settings.public_submit_rate.limit):
        assert (await client.post(url, json=REPORT)).status_code == 404
    assert (await client.post(url, json=REPORT)).status_code == 429


async def test_a_report_is_one_statement_below_the_session(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    board, _ = await board_and_auth(client, db)
    through_session = statements_during(db)
    statements = await driver_statements_during(db)
    assert (await client.post(submit_url(board), json=REPORT)).status_code == 201
    # The address's count, the board, the ticket with its history and the capped
    # acknowledgement: data-modifying CTEs of one statement, no BEGIN and COMMIT.
    assert len(statements) == 1, statements
    [report] = statements
    assert report.startswith("WITH hit AS (INSERT INTO rate_limit_counters")
    for part in (
        "ticket AS (INSERT INTO tickets",
        "external AS (INSERT INTO external_tickets",
        "history AS (INSERT INTO ticket_status_changes",
        "acknowledgement AS (INSERT INTO outgoing_emails",
    ):
        assert part in " ".join(report.split()), part
    # None of it through SQLAlchemy's session.
    assert through_session == []


async def test_the_status_link_is_one_read_below_the_session(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    board, _ = await board_and_auth(client, db)
    created = (await client.post(submit_url(board), json=REPORT)).json()
    reads: list[str] = []

    class CountingReader(DirectSession):
        async def fetch(self, query: Query, **values: object) -> list[asyncpg.Record]:
            reads.append(" ".join(query.sql.split()))
            return await super().fetch(query, **values)

    async def counting_reader() -> Direct:
        return CountingReader(db)

    app.dependency_overrides[get_direct] = counting_reader
    statements = statements_during(db)
    answer = await client.get(f"{API}/public/tickets/{created['uuid']}")
    assert answer.status_code == 200
    assert [h["to_state"] for h in answer.json()["history"]] == ["new"]
    # One statement, through the reader (no session, no transaction of its own).
    assert len(reads) == 1 and reads[0].startswith("SELECT tickets.uuid"), reads
    assert statements == []
