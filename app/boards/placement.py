"""Placing a report on a board: an internal ticket with its first history row, or,
for a board connected to Jira or Trello, an external ticket the forwarder pushes;
with the acknowledgement to its reporter under the recipient's hourly cap. Email
and a standby assignment go through here, inside their caller's transaction, as
one statement (its writes are data-modifying CTEs, each taking its rows from the
report's), the mail intake's record of the email in it too (`Trace`). The public
form places its report in a statement of its own built from the same pieces
(app/tickets/submission.py)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import CTE, Table, Text, bindparam, false, func, insert, select

from app.core.clock import clock
from app.core.config import Settings
from app.core.direct import Executor, Statement
from app.core.orm import bound_row
from app.integrations.models import ExternalTicket
from app.integrations.service import EXTERNAL_COLUMNS, insert_external
from app.outbox import outgoing
from app.outbox.models import OutgoingEmail
from app.tickets import service as tickets
from app.tickets.models import Ticket
from app.tickets.notifications import REPORTER_MAIL_CAP, REPORTER_MAIL_WINDOW, reporter_mail
from app.tickets.service import Destination, NewReport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Placed:
    kind: str  # "ticket" | "external"
    uuid: uuid.UUID
    row_id: int


@dataclass(frozen=True)
class Trace:
    """A row of another table written in the placement's statement, only when the
    report was placed: the mail intake's record of the email. `values` are its
    columns' but `uuid_column`, which takes the report's UUID."""

    table: Table
    uuid_column: str
    values: dict[str, Any]


@dataclass(frozen=True)
class Placement:
    """One report's statement with its values, under the UUID drawn for it; not run
    yet. `run_placement` runs it; the mail intake sends a batch's placements together
    (app/core/direct.py's `Pipeline`) and reads each one's row with `placed`."""

    kind: str  # "ticket" | "external"
    uuid: uuid.UUID
    statement: Statement
    values: dict[str, Any]
    acknowledge: bool
    redraw: Callable[[], Placement]  # the same report under a new UUID

    def placed(self, row: Sequence[Any]) -> Placed | None:
        """What the statement's row says: the report placed, or None when its UUID was
        taken (nothing written; `redraw` and run it again)."""
        row_id, acknowledged, *_ = row
        if row_id is None:
            log.warning("report uuid collision; drawing again")
            return None
        if self.acknowledge and not acknowledged:
            log.warning(
                "reporter mail cap reached; not sending", extra={"mail_kind": "ticket_received"}
            )
        return Placed(self.kind, self.uuid, row_id)


def placement(
    settings: Settings,
    *,
    to: Destination,
    report: NewReport,
    acknowledge: bool = True,
    ack_headers: dict[str, str] | None = None,
    trace: Trace | None = None,
) -> Placement:
    """The statement that places `report` on `to` (see the module's docstring), with
    a newly drawn UUID."""
    now = clock.now()
    values: dict[str, Any] = {
        "board_id": to.board_id,
        "created_at": now,
        "updated_at": now,
        **report.fields(),
        **(
            {"platform": to.platform, "status": "pending", "next_attempt_at": now}
            if to.platform
            else {"state": "new"}
        ),
    }
    if trace is not None:
        values |= {f"trace_{column}": value for column, value in trace.values.items()}
    candidate = tickets.generate_uuid()
    mail_columns: tuple[str, ...] = ()
    if acknowledge:
        mail = reporter_mail(
            settings,
            kind="ticket_received",
            report_uuid=candidate,
            to=report.reporter_email,
            language=report.language,
            title=report.title,
            board_name=to.board_name,
            headers=ack_headers,
            reply=to.reply,
        )
        mail_columns = tuple(mail)
        values |= {f"mail_{column}": value for column, value in mail.items()}
        values |= outgoing.cap_parameters(mail, cap=REPORTER_MAIL_CAP, window=REPORTER_MAIL_WINDOW)
        values["to_address"] = mail["to_address"]
    statement = _placement(
        bool(to.platform),
        mail_columns,
        (trace.table, trace.uuid_column, tuple(trace.values)) if trace else None,
    )

    def redraw() -> Placement:
        return placement(
            settings,
            to=to,
            report=report,
            acknowledge=acknowledge,
            ack_headers=ack_headers,
            trace=trace,
        )

    return Placement(
        "external" if to.platform else "ticket",
        candidate,
        statement,
        {**values, "uuid": candidate},
        acknowledge,
        redraw,
    )


async def run_placement(db: Executor, call: Placement) -> Placed:
    """Run a placement; a taken UUID is drawn again (UUID_ATTEMPTS in all)."""
    for _ in range(tickets.UUID_ATTEMPTS):
        placed = call.placed(await db.row(call.statement, call.values))
        if placed is not None:
            # The caller says what came of it, in its own line (one line per email, say).
            return placed
        call = call.redraw()
    raise RuntimeError("could not draw an unused report uuid")


@lru_cache(maxsize=16)
def _placement(
    external: bool,
    mail_columns: tuple[str, ...],
    trace: tuple[Table, str, tuple[str, ...]] | None,
) -> Statement:
    """The report (`external`: the one to forward), its acknowledgement when there
    are `mail_columns` and the trace's row, as one statement returning the report's
    id (None: its UUID was taken, nothing written) and whether the acknowledgement
    was queued. Built once per shape. Parameters: the report's columns by name, the
    mail's prefixed `mail_` (but `to_address`, which its cap counts by), the trace's
    `trace_`."""
    written: list[CTE] = []
    if external:
        placed = insert_external(
            bound_row(cast(Table, ExternalTicket.__table__), EXTERNAL_COLUMNS)
        ).cte("placed")
    else:
        source = bound_row(cast(Table, Ticket.__table__), tickets.TICKET_COLUMNS)
        placed, history = tickets.ticket_with_history(tickets.unused_uuid(source, ExternalTicket))
        written.append(history.cte("history"))
    was_placed = select(placed.c.id).exists()
    acknowledged: Any = false()
    if mail_columns:
        outbox = cast(Table, OutgoingEmail.__table__)
        mail = bound_row(
            outbox,
            mail_columns,
            {"to_address": bindparam("to_address", type_=Text)},
            prefix="mail_",
        ).where(was_placed)
        acknowledgement = outgoing.insert_mail(mail_columns, mail).cte("acknowledgement")
        acknowledged = _count(acknowledgement) > 0
    if trace is not None:
        table, uuid_column, columns = trace
        row = bound_row(
            table,
            (*columns, uuid_column),
            {uuid_column: bindparam("uuid", type_=table.c[uuid_column].type)},
            prefix="trace_",
        ).where(was_placed)
        primary = next(iter(table.primary_key.columns))
        written.append(
            insert(table).from_select([*columns, uuid_column], row).returning(primary).cte("trace")
        )
    # Every write counted, or a CTE nobody reads would be left out of the statement.
    return Statement(
        select(
            select(placed.c.id).scalar_subquery().label("id"),
            acknowledged.label("acknowledged"),
            *(_count(cte).label(f"written_{cte.name}") for cte in written),
        )
    )


def _count(cte: CTE) -> Any:
    return select(func.count()).select_from(cte).scalar_subquery()
