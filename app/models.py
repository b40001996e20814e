"""Every model, imported once so that Base.metadata knows all tables (Alembic, tests)."""

from app.auth.models import Manager, ManagerToken
from app.boards.models import Board, BoardKeyword
from app.core.orm import Base
from app.inboxes.models import EmailInbox, InboxOAuthGrant, InboxOAuthRequest
from app.intake.models import ProcessedEmail
from app.integrations.models import ExternalTicket
from app.outbox.models import OutgoingEmail
from app.ratelimit.models import RateLimitCounter
from app.standby.models import StandbyQueueItem
from app.tickets.models import Ticket, TicketStatusChange

__all__ = [
    "Base",
    "Board",
    "BoardKeyword",
    "EmailInbox",
    "ExternalTicket",
    "InboxOAuthGrant",
    "InboxOAuthRequest",
    "Manager",
    "ManagerToken",
    "OutgoingEmail",
    "ProcessedEmail",
    "RateLimitCounter",
    "StandbyQueueItem",
    "Ticket",
    "TicketStatusChange",
]
