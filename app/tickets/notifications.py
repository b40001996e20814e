"""Mail to reporters (SPEC 4.5): an acknowledgement, then a notice per state change.

The mails quote nothing the reporter wrote but the title cut to 80 characters, and
one address gets at most REPORTER_MAIL_CAP of them an hour, so the public form
cannot be used to send mail to strangers.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Required, TypedDict, Unpack

from app.core.config import Settings
from app.core.direct import Executor
from app.core.i18n import state_label
from app.inboxes.models import EmailInbox
from app.outbox import outgoing

log = logging.getLogger(__name__)

REPORTER_MAIL_CAP = 10
REPORTER_MAIL_WINDOW = timedelta(hours=1)
TITLE_QUOTE_MAX = 80


@dataclass(frozen=True)
class ReplyInbox:
    """The inbox whose own SMTP server answers a board's reporters, from its address."""

    id: int
    address: str

    @classmethod
    def of(cls, inbox: EmailInbox | None) -> ReplyInbox | None:
        """An inbox without SMTP settings answers nothing: the system SMTP does (the
        public report's statement says the same in SQL, app/tickets/submission.py)."""
        if inbox is None or not inbox.smtp_host:
            return None
        return cls(inbox.id, inbox.email_address)


def quoted_title(title: str) -> str:
    """The title on one line (it goes into a Subject header), cut to 80 characters."""
    title = " ".join(title.split())
    return title if len(title) <= TITLE_QUOTE_MAX else title[: TITLE_QUOTE_MAX - 1] + "…"


def status_url(settings: Settings, report_uuid: uuid.UUID) -> str:
    return f"{settings.PUBLIC_BASE_URL}/t/{report_uuid}"


def reference(report_uuid: uuid.UUID) -> str:
    """The token in our subjects that marks a reply to this report (SPEC 4.3, 4a)."""
    return f"[ref:{report_uuid.hex[:12]}]"


class ReporterMail(TypedDict, total=False):
    """What a mail to a reporter is made of (`reporter_mail`, `notify_reporter`)."""

    kind: Required[str]
    report_uuid: Required[uuid.UUID]
    to: Required[str]
    language: Required[str]
    title: Required[str]
    board_name: Required[str]
    state: str | None
    comment: str | None
    headers: dict[str, str] | None
    reply: ReplyInbox | None


def reporter_mail(settings: Settings, **mail: Unpack[ReporterMail]) -> dict[str, Any]:
    """The outbox row of one mail to a reporter, queued unrendered (the mail worker
    renders it: `outgoing.render_claimed`).

    `kind` is `ticket_received` (the acknowledgement) or `ticket_status` (a state
    change, with the new `state` and the manager's public `comment`). With a
    `reply` inbox (the board's, or the one the report came in by), the mail goes out
    through its SMTP server from its address; else through the system SMTP.
    """
    report_uuid, language, reply = mail["report_uuid"], mail["language"], mail.get("reply")
    values: dict[str, str | None] = {
        "title": quoted_title(mail["title"]),
        "board_name": mail["board_name"],
        "link": status_url(settings, report_uuid),
    }
    if (state := mail.get("state")) is not None:
        values |= {"state_label": state_label(state, language), "comment": mail.get("comment")}
    return outgoing.deferred_row(
        kind=mail["kind"],
        to=mail["to"],
        language=language,
        values=values,
        ticket_uuid=report_uuid,
        headers={"Auto-Submitted": "auto-replied", **(mail.get("headers") or {})},
        subject_suffix=f" {reference(report_uuid)}",
        email_inbox_id=reply.id if reply is not None else None,
        from_address=reply.address if reply is not None else None,
    )


async def notify_reporter(
    db: Executor, settings: Settings, **mail: Unpack[ReporterMail]
) -> int | None:
    """Queue one mail to a reporter (`reporter_mail` takes the arguments), unless the
    address reached its hourly cap (the count and the insert are one statement); the
    outbox row's id, or None."""
    row = reporter_mail(settings, **mail)
    queued = await outgoing.enqueue_capped(
        db, row, cap=REPORTER_MAIL_CAP, window=REPORTER_MAIL_WINDOW
    )
    if queued is None:
        log.warning("reporter mail cap reached; not sending", extra={"mail_kind": row["kind"]})
    return queued
