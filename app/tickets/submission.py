"""The public form's submission (SPEC 4.1): honeypot, rate limit, then the report.

The most abused route there is, so a report is one statement on the direct pool
(app/core/direct.py), atomic as every statement is, with no transaction to begin or
commit: the address's count, the board (with its manager's language and reply inbox),
the ticket with its first history row (or, for a board connected to Jira or Trello,
the report to forward) and the acknowledgement under the recipient's hourly cap.
Each write is a data-modifying CTE that takes its rows from the one before, so a
refused or unknown report writes nothing but its count. The counter's row is locked
for that statement alone, and concurrent reports from one address still get exactly
the limit (the counter is read and raised in one upsert). The acknowledgement is
queued unrendered; the mail worker renders it (app/outbox/outgoing.py).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, cast

from sqlalchemy import (
    CTE,
    ColumnElement,
    Integer,
    Select,
    Table,
    Text,
    bindparam,
    case,
    func,
    literal_column,
    select,
)

from app.auth.models import Manager
from app.boards.models import Board
from app.core.clock import clock
from app.core.config import Settings
from app.core.direct import Direct, compile_query
from app.core.errors import BoardUnavailable, TooManyRequests
from app.core.i18n import from_accept_language, supported
from app.core.logging import info_line
from app.core.orm import bound_row
from app.inboxes.models import EmailInbox
from app.integrations.models import ExternalTicket
from app.integrations.service import EXTERNAL_COLUMNS, insert_external
from app.outbox import outgoing
from app.outbox.models import OutgoingEmail
from app.ratelimit.service import RECORD_HIT, address_key, retry_after, window_parameters
from app.tickets import service as tickets
from app.tickets.models import Ticket
from app.tickets.notifications import REPORTER_MAIL_CAP, REPORTER_MAIL_WINDOW, reporter_mail
from app.tickets.schemas import PublicSubmission

log = logging.getLogger(__name__)


async def submit_public(
    direct: Direct,
    settings: Settings,
    *,
    public_id: str,
    data: PublicSubmission,
    client_ip: str,
    accept_language: str | None,
) -> uuid.UUID:
    """The public form: honeypot, per-IP rate limit, then a ticket (SPEC 4.1)."""
    if data.website:
        # A bot filled the hidden field: answer as if all went well, keep nothing.
        log.info("honeypot submission dropped", extra={"client_ip": client_ip})
        return uuid.uuid4()
    rate = settings.public_submit_rate
    now = clock.now()
    values: dict[str, Any] = {
        "public_id": public_id,
        # Probing for boards is counted (and throttled) like submitting.
        "key": f"public-submit:{address_key(client_ip)}",
        "limit": rate.limit,
        **window_parameters(rate),
        # The form's language, else the browser's; else the manager's (in the statement).
        "requested_language": supported(data.language) or from_accept_language(accept_language),
        "title": data.title,
        "description": data.description,
        "reporter_email": str(data.email),
        "reporter_name": data.name or None,
        "source": "web",
        "email_message_id": None,
        "state": "new",
        "status": "pending",
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }
    step = 1
    for _ in range(tickets.UUID_ATTEMPTS):
        report_uuid = tickets.generate_uuid()
        mail = reporter_mail(
            settings,
            kind="ticket_received",
            report_uuid=report_uuid,
            to=values["reporter_email"],
            language="en",  # the statement sets the report's
            title=data.title,
            board_name="",  # the statement sets the board's
        )
        mail_values = {
            f"mail_{column}": value for column, value in mail.items() if column != "to_address"
        }
        row = await direct.write_row(
            _REPORT,
            **values,
            **mail_values,
            **outgoing.cap_parameters(mail, cap=REPORTER_MAIL_CAP, window=REPORTER_MAIL_WINDOW),
            to_address=mail["to_address"],
            uuid=report_uuid,
            step=step,
        )
        hits, board_id, platform, placed, acknowledged = row
        if hits > rate.limit:
            wait = retry_after(rate)
            raise TooManyRequests(
                f"Too many reports from your address. Try again in {wait} seconds.",
                retry_after=wait,
            )
        if board_id is None:
            raise BoardUnavailable()
        if placed:
            break
        step = 0  # the UUID was taken: drawn again, the attempt counted once
        log.warning("report uuid collision; drawing again")
    else:
        raise RuntimeError("could not draw an unused report uuid")
    if not acknowledged:
        log.warning(
            "reporter mail cap reached; not sending", extra={"mail_kind": "ticket_received"}
        )
    if platform:
        info_line(log, "report queued for forwarding", {"board_id": board_id, "platform": platform})
    else:
        info_line(log, "ticket created", {"board_id": board_id, "source": "web"})
    return report_uuid


def _report_statement() -> Select[Any]:
    """The whole report as one statement (see the module's docstring). Its parameters
    are named as the columns they fill; the acknowledgement's are prefixed `mail_`."""
    hit = RECORD_HIT.cte("hit")
    # An inbox without SMTP answers nothing (as notifications.ReplyInbox.of says).
    inbox_sends = EmailInbox.smtp_host != ""
    board = (
        select(
            Board.id.label("board_id"),
            Board.name.label("board_name"),
            Board.external_platform.label("platform"),
            func.coalesce(bindparam("requested_language", type_=Text), Manager.language).label(
                "language"
            ),
            case((inbox_sends, EmailInbox.id)).label("inbox_id"),
            case((inbox_sends, EmailInbox.email_address)).label("inbox_address"),
        )
        .join(Manager, Manager.id == Board.manager_id)
        .outerjoin(EmailInbox, EmailInbox.id == Board.email_inbox_id)
        .where(
            Board.public_id == bindparam("public_id", type_=Text),
            Board.is_active,
            Manager.is_suspended.is_(False),
        )
        .cte("board")
    )
    # The board, while the address is within its limit.
    allowed = (
        select(board)
        .where(select(hit.c.hits).scalar_subquery() <= bindparam("limit", type_=Integer))
        .cte("allowed")
    )
    of_board = {"board_id": allowed.c.board_id, "language": allowed.c.language}

    ticket_row = bound_row(cast(Table, Ticket.__table__), tickets.TICKET_COLUMNS, of_board)
    ticket, history = tickets.ticket_with_history(
        tickets.unused_uuid(ticket_row, ExternalTicket).where(allowed.c.platform.is_(None))
    )
    external_row = bound_row(
        cast(Table, ExternalTicket.__table__),
        EXTERNAL_COLUMNS,
        {**of_board, "platform": allowed.c.platform},
    )
    external = insert_external(external_row.where(allowed.c.platform.is_not(None))).cte("external")
    placed = select(ticket.c.id).union_all(select(external.c.id)).cte("placed")

    outbox = cast(Table, OutgoingEmail.__table__)
    mail_row = select(
        *(_mail_column(outbox, column, allowed).label(column) for column in _MAIL_COLUMNS)
    ).where(select(placed.c.id).exists())
    acknowledgement = outgoing.insert_mail(_MAIL_COLUMNS, mail_row).cte("acknowledgement")

    def count(cte: CTE) -> Any:
        return select(func.count()).select_from(cte).scalar_subquery()

    return select(
        select(hit.c.hits).scalar_subquery().label("hits"),
        select(board.c.board_id).scalar_subquery().label("board_id"),
        select(board.c.platform).scalar_subquery().label("platform"),
        # The history's count too, or the CTE would not be part of the statement.
        (count(placed) + count(history.cte("history"))).label("placed"),
        count(acknowledgement).label("acknowledged"),
    )


# The acknowledgement's columns: what `reporter_mail` gives, but its language, the
# board's name in its template's values and the inbox it answers through, which the
# statement finds.
_MAIL_COLUMNS = (
    "kind", "to_address", "is_sensitive", "headers", "language", "manager_id",
    "ticket_uuid", "email_inbox_id", "from_address", "next_attempt_at", "created_at",
    "updated_at", "subject", "text_body", "html_body", "message_id", "template_values",
)  # fmt: skip


def _mail_column(outbox: Table, column: str, allowed: CTE) -> ColumnElement[Any]:
    if column == "to_address":  # named as the recipient's cap names it
        return bindparam("to_address", type_=Text)
    if column == "language":
        return allowed.c.language
    if column == "email_inbox_id":
        return allowed.c.inbox_id
    if column == "from_address":
        return allowed.c.inbox_address
    value = bindparam(f"mail_{column}", type_=outbox.c[column].type)
    if column == "template_values":
        path: ColumnElement[Any] = literal_column("'{values,board_name}'::text[]")
        return func.jsonb_set(value, path, func.to_jsonb(allowed.c.board_name))
    return value


_REPORT = compile_query(_report_statement())  # compiled once: every report runs it
