"""Tickets: creation (any source), the manager's list and detail, state changes."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    CTE,
    Insert,
    Select,
    Table,
    Uuid,
    bindparam,
    exists,
    insert,
    literal,
    null,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Manager
from app.boards.models import Board
from app.boards.service import ensure_own_board
from app.core.clock import clock
from app.core.config import Settings
from app.core.direct import Direct, Executor, OnSession, Statement, compile_query
from app.core.errors import BoardUnavailable, InvalidTransition, NotFound
from app.core.orm import bound_row
from app.core.pagination import keyset_page
from app.inboxes.models import EmailInbox
from app.integrations.models import ExternalTicket
from app.tickets import notifications, states
from app.tickets.models import Ticket, TicketStatusChange
from app.tickets.schemas import (
    HistoryEntry,
    PublicHistoryEntry,
    PublicTicket,
    TicketDetail,
    TicketRead,
    TransitionRequest,
)
from app.tickets.search import PLAN_FOR_THE_WORDS, common_lexemes, search_condition

log = logging.getLogger(__name__)

# Replaced in tests to force a collision.
generate_uuid: Callable[[], uuid.UUID] = uuid.uuid4
UUID_ATTEMPTS = 5


@dataclass(frozen=True)
class NewReport:
    """A report as it arrives (web form, email, standby), before it has a board's row."""

    title: str
    description: str
    reporter_email: str
    reporter_name: str | None
    source: str  # web | email
    language: str
    email_message_id: str | None = None

    def fields(self) -> dict[str, Any]:
        """The columns tickets and external tickets share."""
        values = asdict(self)
        values["reporter_name"] = self.reporter_name or None
        return values


@dataclass(frozen=True)
class Destination:
    """What placing a report needs of its board, read from the ORM's rows by the mail
    intake and the standby queue."""

    board_id: int
    board_name: str
    platform: str | None  # jira | trello, or None: the board keeps its own tickets
    reply: notifications.ReplyInbox | None  # the inbox answering its reporters

    @classmethod
    def of(cls, board: Board, inbox: EmailInbox | None) -> Destination:
        return cls(
            board.id, board.name, board.external_platform, notifications.ReplyInbox.of(inbox)
        )


async def destination(
    session: AsyncSession, board: Board, inbox: EmailInbox | None = None
) -> Destination:
    """Where a report for `board` goes; answered through `inbox` (the one the mail came
    in by) or else the board's own."""
    return Destination.of(board, inbox or await board_inbox(session, board))


@dataclass(frozen=True)
class StoredTicket:
    id: int
    uuid: uuid.UUID


TICKET_COLUMNS = (
    "uuid", "board_id", "state", "created_at", "updated_at", "title", "description",
    "reporter_email", "reporter_name", "source", "language", "email_message_id",
)  # fmt: skip


def ticket_with_history(source: Select[Any]) -> tuple[CTE, Insert]:
    """The ticket INSERTed from `source` (a row of TICKET_COLUMNS) unless its UUID is
    taken, as a CTE returning its id, and the INSERT of its first history row
    (null → new) from what that returned: the two writes as one statement."""
    table = cast(Table, Ticket.__table__)
    ticket = (
        pg_insert(table)
        .from_select(list(TICKET_COLUMNS), source)
        .on_conflict_do_nothing(index_elements=[table.c.uuid])
        .returning(table.c.id, table.c.created_at)
        .cte("ticket")
    )
    history = cast(Table, TicketStatusChange.__table__)
    return ticket, (
        insert(history)
        .from_select(
            ["ticket_id", "from_state", "to_state", "changed_at", "created_at"],
            select(ticket.c.id, null(), literal("new"), ticket.c.created_at, ticket.c.created_at),
        )
        .returning(history.c.ticket_id)
    )


def unused_uuid(source: Select[Any], taken_by: type[Ticket | ExternalTicket]) -> Select[Any]:
    """`source` only when its `uuid` is not taken by a row of `taken_by` either (tickets
    and external tickets share one namespace: /t/{uuid})."""
    return source.where(~exists().where(taken_by.uuid == bindparam("uuid", type_=Uuid())))


@lru_cache(maxsize=2)
def _insert_ticket_statement(check_external: bool) -> Statement:
    """The ticket and its first history row, the values bind parameters named as
    columns: one statement, built once (constructing a statement per request costs
    more than running it)."""
    source = bound_row(cast(Table, Ticket.__table__), TICKET_COLUMNS)
    if check_external:
        source = unused_uuid(source, ExternalTicket)
    return Statement(ticket_with_history(source)[1])


async def _insert_ticket(
    db: Executor,
    board_id: int,
    report: NewReport,
    report_uuid: uuid.UUID,
    *,
    check_external: bool,
) -> int | None:
    """The ticket and its first history row (null → new); None when the UUID is taken
    (by a ticket, or with `check_external` by an external ticket)."""
    now = clock.now()
    values = {
        "uuid": report_uuid,
        "board_id": board_id,
        "state": "new",
        "created_at": now,
        "updated_at": now,
        **report.fields(),
    }
    ticket_id: int | None = await db.scalar(_insert_ticket_statement(check_external), values)
    return ticket_id


async def create_ticket(
    db: Executor,
    *,
    board_id: int,
    report: NewReport,
    report_uuid: uuid.UUID | None = None,
) -> StoredTicket:
    """Store a ticket with its first history row (null → new), unanswered, in the
    caller's transaction: a standby conversion (`report_uuid` keeps the UUID a
    failed forward already gave its reporter, who has the link) and the demo's
    tickets. A report that comes in is placed by `boards.placement.run_placement`."""
    for _ in range(UUID_ATTEMPTS):
        candidate = report_uuid or generate_uuid()
        ticket_id = await _insert_ticket(
            db, board_id, report, candidate, check_external=report_uuid is None
        )
        if ticket_id is not None:
            break
        if report_uuid is not None:
            raise RuntimeError("the report's uuid is taken by another ticket")
        log.warning("report uuid collision; drawing again")
    else:
        raise RuntimeError("could not draw an unused report uuid")
    log.info("ticket created", extra={"board_id": board_id, "source": report.source})
    return StoredTicket(ticket_id, candidate)


async def board_inbox(session: AsyncSession, board: Board) -> EmailInbox | None:
    """The inbox a board is linked to: mail to its reporters goes out through it."""
    if board.email_inbox_id is None:
        return None
    return await session.get(EmailInbox, board.email_inbox_id)


async def list_tickets(
    session: AsyncSession,
    manager: Manager,
    board_id: int,
    *,
    state: str | None,
    source: str | None,
    q: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Ticket], str | None]:
    """Newest first, keyset-paginated on (created_at, id): tickets arriving between
    pages are neither skipped nor repeated. The board's owner is checked in the same
    query; only an empty page asks whether the board is the manager's at all (404)."""
    common = frozenset[str]()
    if q:
        common = await common_lexemes.get(session)
        await session.execute(text(PLAN_FOR_THE_WORDS))
    tickets, next_cursor = await keyset_page(
        session,
        ticket_filter(board_id, manager.id, state=state, source=source, q=q, common=common),
        key=TICKET_ORDER,
        limit=limit,
        cursor=cursor,
    )
    if not tickets:
        await ensure_own_board(session, manager, board_id)
    return tickets, next_cursor


TICKET_ORDER = (Ticket.created_at, Ticket.id)


def ticket_filter(
    board_id: int,
    manager_id: int,
    *,
    state: str | None,
    source: str | None,
    q: str | None,
    common: frozenset[str] = frozenset(),
) -> Select[Ticket]:
    """A board's tickets if the board is the manager's, filtered as the dashboard asks
    (`make bench` explains it). The owner's check is a one-time filter of the plan.
    `common`: the lexemes most tickets hold (app/tickets/search.py)."""
    owned = exists().where(Board.id == board_id, Board.manager_id == manager_id)
    query = select(Ticket).where(Ticket.board_id == board_id, owned)
    if state:
        query = query.where(Ticket.state == state)
    if source:
        query = query.where(Ticket.source == source)
    if q and (matches := search_condition(q, common)) is not None:
        query = query.where(matches)
    return query


async def get_ticket(
    session: AsyncSession, manager: Manager, ticket_id: int, *, for_update: bool = False
) -> tuple[Ticket, Board]:
    """The ticket and its board, if the board is the manager's (else NotFound)."""
    query = (
        select(Ticket, Board)
        .join(Board, Board.id == Ticket.board_id)
        .where(Ticket.id == ticket_id, Board.manager_id == manager.id)
    )
    if for_update:
        query = query.with_for_update(of=Ticket)
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound("No such ticket.")
    return row[0], row[1]


async def history(session: AsyncSession, ticket_id: int) -> list[TicketStatusChange]:
    return list(
        await session.scalars(
            select(TicketStatusChange)
            .where(TicketStatusChange.ticket_id == ticket_id)
            .order_by(TicketStatusChange.changed_at, TicketStatusChange.id)
        )
    )


async def transition(
    session: AsyncSession,
    settings: Settings,
    manager: Manager,
    ticket_id: int,
    change: TransitionRequest,
    *,
    notify: bool = True,
) -> Ticket:
    """Move the ticket, write its history row and queue the reporter's notice.

    The row is locked first, so of two concurrent moves the second sees the first's
    result and is refused if it no longer applies.
    """
    ticket, board = await get_ticket(session, manager, ticket_id, for_update=True)
    if not states.can_move(ticket.state, change.to_state):
        raise InvalidTransition(
            f"A ticket in state {ticket.state} cannot move to {change.to_state}."
        )
    from_state, now = ticket.state, clock.now()
    ticket.state = change.to_state
    ticket.updated_at = now
    if change.to_state in states.FINAL:
        ticket.closed_at = now
    session.add(
        TicketStatusChange(
            ticket_id=ticket.id,
            from_state=from_state,
            to_state=change.to_state,
            changed_by_manager_id=manager.id,
            comment=change.comment or None,
            internal_note=change.internal_note or None,
            changed_at=now,
        )
    )
    if notify:
        await notifications.notify_reporter(
            OnSession(session),
            settings,
            kind="ticket_status",
            report_uuid=ticket.uuid,
            to=ticket.reporter_email,
            language=ticket.language,
            title=ticket.title,
            board_name=board.name,
            state=change.to_state,
            comment=change.comment or None,
            reply=notifications.ReplyInbox.of(await board_inbox(session, board)),
        )
    await session.flush()
    log.info(
        "ticket moved",
        extra={"ticket_id": ticket.id, "from_state": from_state, "to_state": change.to_state},
    )
    return ticket


async def public_board(session: AsyncSession, public_id: str) -> Board:
    """A board that takes reports: active, and its manager not suspended."""
    board = await session.scalar(
        select(Board)
        .join(Manager, Manager.id == Board.manager_id)
        .where(Board.public_id == public_id, Board.is_active, Manager.is_suspended.is_(False))
    )
    if board is None:
        raise BoardUnavailable()
    return board


_PUBLIC_VIEW = compile_query(
    select(
        Ticket.uuid,
        Ticket.title,
        Ticket.state,
        Ticket.created_at,
        Board.name,
        TicketStatusChange.from_state,
        TicketStatusChange.to_state,
        TicketStatusChange.comment,
        TicketStatusChange.changed_at,
    )
    .join(Board, Board.id == Ticket.board_id)
    .outerjoin(TicketStatusChange, TicketStatusChange.ticket_id == Ticket.id)
    .where(Ticket.uuid == bindparam("uuid"))
    .order_by(TicketStatusChange.changed_at, TicketStatusChange.id)
)  # compiled once: the status link is the most read page
_PUBLIC_EXTERNAL_VIEW = compile_query(
    select(
        ExternalTicket.uuid,
        ExternalTicket.title,
        ExternalTicket.status,
        ExternalTicket.created_at,
        Board.name,
        ExternalTicket.platform,
        ExternalTicket.external_url,
    )
    .join(Board, Board.id == ExternalTicket.board_id)
    .where(ExternalTicket.uuid == bindparam("uuid"))
)


async def public_view(direct: Direct, report_uuid: str) -> PublicTicket:
    """What the status link shows: never the reporter's address, never internal notes."""
    try:
        key = uuid.UUID(report_uuid)
    except ValueError:
        raise NotFound() from None
    # One round trip: the ticket, its board's name and its history, a row per entry.
    rows = await direct.fetch(_PUBLIC_VIEW, uuid=key)
    if rows:
        ticket_uuid, title, state, created_at, board_name = rows[0][:5]
        return PublicTicket(
            uuid=ticket_uuid,
            kind="ticket",
            title=title,
            board_name=board_name,
            state=state,
            created_at=created_at,
            history=[
                PublicHistoryEntry(
                    from_state=from_state, to_state=to_state, comment=comment, changed_at=at
                )
                for from_state, to_state, comment, at in (row[5:] for row in rows)
                if to_state is not None
            ],
        )
    external = await direct.fetch(_PUBLIC_EXTERNAL_VIEW, uuid=key)
    if not external:
        raise NotFound()
    forwarded_uuid, title, status, created_at, board_name, platform, url = external[0]
    return PublicTicket(
        uuid=forwarded_uuid,
        kind="external",
        title=title,
        board_name=board_name,
        state=status,
        created_at=created_at,
        history=[],
        platform=platform,
        status=status,
        external_url=url if status == "created" else None,
    )


async def ticket_detail(session: AsyncSession, settings: Settings, ticket: Ticket) -> TicketDetail:
    """The ticket as its manager sees it: its status link and its whole history."""
    await session.refresh(ticket)
    entries = await history(session, ticket.id)
    data: dict[str, Any] = TicketRead.model_validate(ticket).model_dump()
    return TicketDetail(
        **data,
        status_url=notifications.status_url(settings, ticket.uuid),
        history=[
            HistoryEntry(
                from_state=h.from_state,  # type: ignore[arg-type]
                to_state=h.to_state,  # type: ignore[arg-type]
                comment=h.comment,
                internal_note=h.internal_note,
                changed_by=h.changed_by_manager_id,
                changed_at=h.changed_at,
            )
            for h in entries
        ],
    )


async def read_ticket(
    session: AsyncSession, settings: Settings, manager: Manager, ticket_id: int
) -> TicketDetail:
    ticket, _ = await get_ticket(session, manager, ticket_id)
    return await ticket_detail(session, settings, ticket)


async def move_ticket(
    session: AsyncSession,
    settings: Settings,
    manager: Manager,
    ticket_id: int,
    body: TransitionRequest,
) -> TicketDetail:
    ticket = await transition(session, settings, manager, ticket_id, body)
    return await ticket_detail(session, settings, ticket)
