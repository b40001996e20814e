"""Outgoing mail: render a template in the recipient's language and put it in the outbox.

Nothing is sent here. The row commits with the transaction that caused it and the
mail worker sends it afterwards (app/workers/mail_sender.py).
"""

from __future__ import annotations

import email.policy
import uuid
from datetime import timedelta
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any, Required, TypedDict, Unpack, cast

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Insert, Select, Table, bindparam, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import clock
from app.core.config import Settings
from app.core.crypto import cipher_for
from app.core.direct import Executor, Statement
from app.core.i18n import pick_language, subject
from app.core.orm import bound_row
from app.outbox.models import OutgoingEmail

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,  # a missing value is a bug, not an empty string
    keep_trailing_newline=True,
    auto_reload=False,  # the templates ship with the code: no stat() per mail
)
_BODY_CONTEXT = "outgoing_emails.body"


def render(kind: str, language: str, **values: Any) -> tuple[str, str, str]:
    """(subject, text body, HTML body) of a template in a language."""
    language = pick_language(language)
    title = subject(kind, language, **{k: v for k, v in values.items() if isinstance(v, str)})
    context = {"language": language, "subject": title, **values}
    text_body = _templates.get_template(f"{language}/{kind}.txt").render(context)
    html_body = _templates.get_template(f"{language}/{kind}.html").render(context)
    return title, text_body, html_body


def _domain_of(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "localhost"


class Mail(TypedDict, total=False):
    """What a mail is made of, as `render_row` and `enqueue` take it."""

    kind: Required[str]
    to: Required[str]
    language: Required[str]
    values: Required[dict[str, Any]]
    sensitive: bool
    manager_id: int | None
    ticket_uuid: uuid.UUID | None
    headers: dict[str, str] | None
    subject_suffix: str
    email_inbox_id: int | None
    from_address: str | None


def _rendered(
    settings: Settings,
    *,
    kind: str,
    language: str,
    values: dict[str, Any],
    subject_suffix: str,
    from_address: str | None,
) -> dict[str, str]:
    """Subject, bodies and a new Message-ID of one mail."""
    title, text_body, html_body = render(kind, language, **values)
    return {
        "subject": title + subject_suffix,
        "text_body": text_body,
        "html_body": html_body,
        "message_id": make_msgid(domain=_domain_of(from_address or settings.SMTP_FROM)),
    }


def _envelope(mail: Mail) -> dict[str, Any]:
    """The columns of a mail that are not its content."""
    now = clock.now()
    return {
        "kind": mail["kind"],
        "to_address": mail["to"],
        "is_sensitive": mail.get("sensitive", False),
        "headers": {"Auto-Submitted": "auto-generated", **(mail.get("headers") or {})},
        "language": pick_language(mail["language"]),
        "manager_id": mail.get("manager_id"),
        "ticket_uuid": mail.get("ticket_uuid"),
        "email_inbox_id": mail.get("email_inbox_id"),
        "from_address": mail.get("from_address"),
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


def render_row(settings: Settings, **mail: Unpack[Mail]) -> dict[str, Any]:
    """The columns of one mail rendered now (`enqueue` stores them)."""
    content = _rendered(
        settings,
        kind=mail["kind"],
        language=mail["language"],
        values=mail["values"],
        subject_suffix=mail.get("subject_suffix", ""),
        from_address=mail.get("from_address"),
    )
    if mail.get("sensitive", False):
        cipher = cipher_for(settings)
        content["text_body"] = cipher.encrypt(content["text_body"], context=_BODY_CONTEXT)
        content["html_body"] = cipher.encrypt(content["html_body"], context=_BODY_CONTEXT)
    return {**_envelope(mail), **content, "template_values": None}


def deferred_row(**mail: Unpack[Mail]) -> dict[str, Any]:
    """The columns of one mail to be rendered by the mail worker (`render_claimed`):
    the template's values instead of subject, bodies and Message-ID. Rendering costs
    more than storing a report, so a request that queues a mail leaves it to the
    worker. Never for a sensitive mail: its values would be stored in the clear."""
    if mail.get("sensitive", False):
        raise ValueError("a sensitive mail is rendered and encrypted when queued")
    template = {"values": mail["values"], "subject_suffix": mail.get("subject_suffix", "")}
    return {
        **_envelope(mail),
        "subject": None,
        "text_body": None,
        "html_body": None,
        "message_id": None,
        "template_values": template,
    }


def render_claimed(mail: OutgoingEmail, settings: Settings) -> None:
    """Fill in a deferred mail's subject, bodies and Message-ID from its template's
    values (its kind, language and sender decide the rest); a rendered one is left
    as it is. The caller's transaction stores them, so every later attempt sends
    the same message."""
    if mail.template_values is None:
        return
    content = _rendered(
        settings,
        kind=mail.kind,
        language=mail.language,
        values=mail.template_values["values"],
        subject_suffix=mail.template_values.get("subject_suffix", ""),
        from_address=mail.from_address,
    )
    for column, value in content.items():
        setattr(mail, column, value)
    mail.template_values = None


async def enqueue(session: AsyncSession, settings: Settings, **mail: Unpack[Mail]) -> OutgoingEmail:
    """Render and store one mail; it is sent after the transaction commits."""
    row = OutgoingEmail(**render_row(settings, **mail))
    session.add(row)
    await session.flush()
    return row


async def enqueue_capped(
    db: Executor, row: dict[str, Any], *, cap: int, window: timedelta
) -> int | None:
    """Store a mail `render_row` or `deferred_row` made, unless its address was sent
    `cap` mails within `window`: the count and the insert are one statement. Returns
    the new row's id, or None when capped."""
    result: int | None = await db.scalar(
        _capped_insert(tuple(row)), {**row, **cap_parameters(row, cap=cap, window=window)}
    )
    return result


def under_cap(source: Select[Any]) -> Select[Any]:
    """`source` (a mail's row) only while fewer than :cap mails went to its
    :to_address since :since (`cap_parameters`)."""
    table = cast(Table, OutgoingEmail.__table__)
    recent = (
        select(func.count())
        .select_from(table)
        .where(
            func.lower(table.c.to_address) == func.lower(bindparam("to_address")),
            table.c.created_at > bindparam("since", type_=table.c.created_at.type),
        )
        .scalar_subquery()
    )
    return source.where(recent < bindparam("cap"))


def cap_parameters(row: dict[str, Any], *, cap: int, window: timedelta) -> dict[str, Any]:
    return {"cap": cap, "since": row["created_at"] - window}


def insert_mail(columns: tuple[str, ...], source: Select[Any]) -> Insert:
    """INSERT the mail `source` holds (a row of `columns`) under its recipient's cap;
    returns its id."""
    table = cast(Table, OutgoingEmail.__table__)
    return insert(table).from_select(list(columns), under_cap(source)).returning(table.c.id)


@lru_cache(maxsize=4)
def _capped_insert(columns: tuple[str, ...]) -> Statement:
    """A mail's row of bound columns under its recipient's cap; built once per column
    set."""
    table = cast(Table, OutgoingEmail.__table__)
    return Statement(insert_mail(columns, bound_row(table, columns)))


class _HeaderClasses(HeaderRegistry):
    """The standard library's header registry makes a new class for every header it
    makes (half the cost of building a message); these are made once per name. Only
    the names of the headers we write reach it, a handful."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        made = self._made.get(name.lower())
        if made is None:
            made = self._made[name.lower()] = super().__getitem__(name)
        return made


# email.policy.default, the policy of the messages we send, with the registry above.
SENDING = email.policy.default.clone(header_factory=_HeaderClasses())


def build_message(
    mail: OutgoingEmail, settings: Settings, *, transfer_encoding: str | None = None
) -> EmailMessage:
    """The MIME message for an outbox row (text with an HTML alternative).

    `transfer_encoding="8bit"` keeps the bodies readable as they are (the files
    written in development when no SMTP server is configured); by default the
    email package picks a 7-bit-safe encoding for SMTP.
    """
    if mail.text_body is None or mail.subject is None or mail.message_id is None:
        raise ValueError("the mail is not rendered yet (render_claimed)")
    text_body, html_body = mail.text_body, mail.html_body
    if mail.is_sensitive:
        cipher = cipher_for(settings)
        text_body = cipher.decrypt(text_body, context=_BODY_CONTEXT)
        html_body = cipher.decrypt(html_body, context=_BODY_CONTEXT) if html_body else None
    message = EmailMessage(policy=SENDING)
    # Content first: set_content() and add_alternative() move Content-* headers.
    message.set_content(text_body, cte=transfer_encoding)
    if html_body:
        message.add_alternative(html_body, subtype="html", cte=transfer_encoding)
    message["From"] = mail.from_address or settings.SMTP_FROM
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Message-ID"] = mail.message_id
    message["Date"] = format_datetime(clock.now())
    message["Content-Language"] = mail.language
    for name, value in mail.headers.items():
        message[name] = value
    return message


def threading_headers(message_id: str, references: list[str]) -> dict[str, str]:
    """In-Reply-To and References for our answer to a message, so mail clients thread it."""
    chain = [*references, message_id][-10:]
    return {"In-Reply-To": message_id, "References": " ".join(chain)}
