"""Inboxes: a manager's mailboxes, their encrypted credentials, tests and polls."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from app.auth.models import Manager
from app.core.clock import clock
from app.core.config import Settings
from app.core.crypto import cipher_for
from app.core.database import violated_constraint
from app.core.errors import InboxNameTaken, NotFound, SignsInWithOAuth
from app.core.pagination import keyset_page
from app.inboxes import grants
from app.inboxes.imap import ImapError, ImapMailbox, ImapSettings
from app.inboxes.models import (
    IMAP_PASSWORD_CONTEXT,
    SMTP_PASSWORD_CONTEXT,
    EmailInbox,
    InboxOAuthGrant,
)
from app.inboxes.schemas import CheckResult, InboxCreate, InboxTestResult, InboxUpdate
from app.outbox.smtp import SmtpError, SmtpServer, check_server

CHECK_TIMEOUT_SECONDS = 40.0
# Changing one of these points the inbox at another mailbox: start reading afresh.
_MAILBOX_FIELDS = {"imap_host", "imap_port", "imap_username", "imap_folder"}


async def get_inbox(session: AsyncSession, manager: Manager, inbox_id: int) -> EmailInbox:
    """One of the manager's inboxes with its grant (whatever state its tokens are in:
    they are not decrypted here)."""
    inbox = await session.scalar(
        select(EmailInbox)
        .where(EmailInbox.id == inbox_id, EmailInbox.manager_id == manager.id)
        .options(selectinload(EmailInbox.grant))
        # After a write in this session: the row as the database has it now.
        .execution_options(populate_existing=True)
    )
    if inbox is None:
        raise NotFound("No such inbox.")
    return inbox


async def list_inboxes(
    session: AsyncSession, manager: Manager, *, limit: int, cursor: str | None
) -> tuple[list[EmailInbox], str | None]:
    query = (
        select(EmailInbox)
        .where(EmailInbox.manager_id == manager.id)
        .options(selectinload(EmailInbox.grant))
    )
    return await keyset_page(
        session, query, key=(EmailInbox.created_at, EmailInbox.id), limit=limit, cursor=cursor
    )


def _secret(settings: Settings, value: Any, context: str) -> str | None:
    if value is None:
        return None
    plain = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return cipher_for(settings).encrypt(plain, context=context) if plain else None


async def _flush(session: AsyncSession) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        if violated_constraint(exc) == "uq_email_inboxes_manager_id_name":
            raise InboxNameTaken() from None
        raise


async def create_inbox(
    session: AsyncSession, settings: Settings, manager: Manager, data: InboxCreate
) -> EmailInbox:
    """Store the inbox with its passwords encrypted; it is polled at once."""
    fields = data.model_dump(exclude={"imap_password", "smtp_password"})
    fields["email_address"] = str(data.email_address)
    inbox = EmailInbox(
        manager_id=manager.id,
        **fields,
        imap_password_encrypted=_secret(settings, data.imap_password, IMAP_PASSWORD_CONTEXT),
        smtp_password_encrypted=_secret(settings, data.smtp_password, SMTP_PASSWORD_CONTEXT),
        next_poll_at=clock.now(),
    )
    session.add(inbox)
    await _flush(session)
    return await get_inbox(session, manager, inbox.id)


async def update_inbox(
    session: AsyncSession, settings: Settings, manager: Manager, inbox_id: int, data: InboxUpdate
) -> EmailInbox:
    inbox = await get_inbox(session, manager, inbox_id)
    changes = data.model_dump(exclude_unset=True)
    was_active = inbox.is_active
    switching = changes.pop("auth_kind", None) == "password" and inbox.auth_kind == "oauth2"
    if (
        inbox.auth_kind == "oauth2"
        and not switching
        and {
            "imap_password",
            "smtp_password",
        }
        & changes.keys()
    ):
        raise SignsInWithOAuth()
    if switching:
        # Back to passwords: the tokens go, and reading starts again with the new login.
        inbox.auth_kind = "password"
        mine = select(EmailInbox.id).where(
            EmailInbox.id == inbox.id, EmailInbox.manager_id == manager.id
        )
        await session.execute(
            delete(InboxOAuthGrant).where(InboxOAuthGrant.email_inbox_id.in_(mine))
        )
        inbox.settings_version += 1
        inbox.next_poll_at = clock.now()
    if "imap_password" in changes:
        inbox.imap_password_encrypted = _secret(settings, data.imap_password, IMAP_PASSWORD_CONTEXT)
    if "smtp_password" in changes:
        inbox.smtp_password_encrypted = _secret(settings, data.smtp_password, SMTP_PASSWORD_CONTEXT)
    for field, value in changes.items():
        if field not in ("imap_password", "smtp_password"):
            setattr(inbox, field, str(value) if field == "email_address" else value)
    if any(field.startswith("imap_") for field in changes):
        inbox.settings_version += 1  # a session reading with the old settings stops
    if _MAILBOX_FIELDS & changes.keys():
        inbox.uid_validity = None
        inbox.last_seen_uid = None
    if changes and (inbox.is_active or not was_active):
        # New settings, or re-activated: poll at once, with a clean slate.
        inbox.next_poll_at = clock.now()
        inbox.last_error = None
    await _flush(session)
    return await get_inbox(session, manager, inbox.id)


async def delete_inbox(session: AsyncSession, manager: Manager, inbox_id: int) -> None:
    """Boards are unlinked; tickets and standby items it produced stay."""
    inbox = await get_inbox(session, manager, inbox_id)
    await session.delete(inbox)
    await session.flush()


async def request_poll(session: AsyncSession, manager: Manager, inbox_id: int) -> None:
    inbox = await get_inbox(session, manager, inbox_id)
    await session.execute(
        update(EmailInbox).where(EmailInbox.id == inbox.id).values(next_poll_at=clock.now())
    )


def _decrypt(settings: Settings, stored: str | None, context: str) -> str | None:
    return cipher_for(settings).decrypt(stored, context=context) if stored else None


def _login(
    inbox: EmailInbox, settings: Settings, username: str | None, stored: str | None, context: str
) -> tuple[str | None, str | None]:
    """(username, password) to sign in with: an oauth2 inbox signs in as its mailbox,
    with a token instead of a password."""
    if inbox.auth_kind == "oauth2":
        return username or inbox.email_address, None
    return username, _decrypt(settings, stored, context)


def imap_settings(
    inbox: EmailInbox, settings: Settings, access_token: str | None = None
) -> ImapSettings:
    """The inbox's IMAP server; a manager typed it, so private addresses are refused
    unless ALLOW_PRIVATE_NETWORK_TARGETS (checked where the connection is made). An
    oauth2 inbox signs in with `access_token` as its mailbox address."""
    username, password = _login(
        inbox, settings, inbox.imap_username, inbox.imap_password_encrypted, IMAP_PASSWORD_CONTEXT
    )
    return ImapSettings(
        host=inbox.imap_host,
        port=inbox.imap_port,
        security=inbox.imap_security,
        username=username,
        password=password,
        folder=inbox.imap_folder,
        access_token=access_token if inbox.auth_kind == "oauth2" else None,
        allow_private=settings.allow_private_network_targets,
    )


def smtp_server(
    inbox: EmailInbox, settings: Settings, access_token: str | None = None
) -> SmtpServer | None:
    """The inbox's own SMTP server, or None when it has none."""
    if not inbox.smtp_host:
        return None
    username, password = _login(
        inbox, settings, inbox.smtp_username, inbox.smtp_password_encrypted, SMTP_PASSWORD_CONTEXT
    )
    return SmtpServer(
        host=inbox.smtp_host,
        port=inbox.smtp_port,
        security=inbox.smtp_security,
        username=username,
        password=password,
        access_token=access_token if inbox.auth_kind == "oauth2" else None,
        allow_private=settings.allow_private_network_targets,
    )


async def _check_imap(settings: ImapSettings) -> CheckResult:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            async with ImapMailbox(settings):
                pass
    except ImapError as exc:
        return CheckResult(ok=False, error=str(exc))
    except TimeoutError:
        return CheckResult(ok=False, error=f"{settings.host} did not finish in time.")
    return CheckResult(ok=True)


async def _check_smtp(server: SmtpServer | None) -> CheckResult:
    if server is None:
        return CheckResult(
            ok=False,
            error="No SMTP server is set: replies go out through the system's mail settings.",
        )
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await check_server(server)
    except SmtpError as exc:
        return CheckResult(ok=False, error=str(exc))
    except TimeoutError:
        return CheckResult(ok=False, error=f"{server.host} did not finish in time.")
    return CheckResult(ok=True)


async def check_inbox(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    manager: Manager,
    inbox_id: int,
    *,
    owner: str,
) -> InboxTestResult:
    """Log in to the inbox's IMAP and SMTP servers now, after ending the read-only
    transaction: no database connection waits on remote servers. An oauth2 inbox gets
    a valid access token first (refreshed if needed); when none can be had, both
    checks say why."""
    inbox = await get_inbox(session, manager, inbox_id)
    session.expunge(inbox)  # kept as read: the rollback would expire it
    await session.rollback()
    token: str | None = None
    if inbox.auth_kind == "oauth2":
        try:
            token = (await grants.access_token(sessionmaker, settings, inbox.id, owner=owner)).token
        except grants.TokenUnavailable as exc:
            failed = CheckResult(ok=False, error=str(exc))
            return InboxTestResult(imap=failed, smtp=failed)
    result = await test_connection(
        imap_settings(inbox, settings, token), smtp_server(inbox, settings, token)
    )
    if inbox.auth_kind == "oauth2":
        await grants.note_smtp_check(sessionmaker, settings, inbox.id, result.smtp.error)
    return result


async def test_connection(imap: ImapSettings, smtp: SmtpServer | None) -> InboxTestResult:
    """A real IMAP login and SMTP EHLO/login, side by side. Call it outside any
    database transaction: it talks to remote servers."""
    imap_result, smtp_result = await asyncio.gather(_check_imap(imap), _check_smtp(smtp))
    return InboxTestResult(imap=imap_result, smtp=smtp_result)
