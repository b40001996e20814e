"""`python -m app seed-demo`: a manager with boards and tickets to look around with."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Manager
from app.auth.service import create_manager, find_by_email
from app.boards.models import Board
from app.boards.schemas import BoardCreate
from app.boards.service import all_boards, create_board
from app.core.config import Settings
from app.core.direct import OnSession
from app.tickets.schemas import TransitionRequest
from app.tickets.service import NewReport, create_ticket, transition

BOARDS = [
    BoardCreate(
        name="Printers",
        description="Paper jams, toner, drivers. / Zacięcia papieru, toner, sterowniki.",
        keywords=["printer", "drukarka", "toner"],
    ),
    BoardCreate(name="Network", description="Wi-Fi, VPN, cables.", keywords=["wifi", "vpn"]),
]
TICKETS = [
    (
        "Printers",
        "The printer on floor 2 jams",
        "Every second page since Monday.",
        "jan@example.org",
        "Jan Kowalski",
        "web",
        "pl",
        ["in_progress"],
    ),
    (
        "Printers",
        "Toner empty in room 114",
        "Black toner, HP M404.",
        "anna@example.org",
        "Anna",
        "email",
        "en",
        [],
    ),
    (
        "Printers",
        "Drukarka nie drukuje w kolorze",
        "Tylko czarno-biało.",
        "zbyszek@example.pl",
        None,
        "web",
        "pl",
        ["closed"],
    ),
    (
        "Network",
        "VPN drops every hour",
        "Since the update on Friday.",
        "ops@example.org",
        "Ops",
        "web",
        "en",
        ["rejected"],
    ),
    ("Network", "Wi-Fi slow in the meeting room", "", "guest@example.org", None, "email", "en", []),
]


@dataclass
class Demo:
    manager: Manager
    boards: list[Board]
    created: bool


async def seed_demo(
    session: AsyncSession, settings: Settings, *, email: str, password: str
) -> Demo:
    """Create the demo account with its boards and tickets once; later runs change
    nothing and report what is there."""
    existing = await find_by_email(session, email)
    if existing is not None:
        return Demo(existing, await all_boards(session, existing), created=False)
    manager = await create_manager(
        session, email=email, password=password, full_name="Demo Manager", verified=True
    )
    boards = {b.name: await create_board(session, manager, b) for b in BOARDS}
    for board_name, title, text, reporter, name, source, language, moves in TICKETS:
        ticket = await create_ticket(  # unanswered: demo reporters are not real people
            OnSession(session),
            board_id=boards[board_name].id,
            report=NewReport(
                title=title,
                description=text or title,
                reporter_email=reporter,
                reporter_name=name,
                source=source,
                language=language,
            ),
        )
        for state in moves:
            await transition(
                session,
                settings,
                manager,
                ticket.id,
                TransitionRequest(to_state=state, comment="Demo change"),  # type: ignore[arg-type]
                notify=False,
            )
    return Demo(manager, list(boards.values()), created=True)
