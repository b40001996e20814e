"""The mail worker: sends what the outbox holds, retrying with backoff."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable
from datetime import timedelta
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import clock
from app.core.config import Settings
from app.core.direct import Query, compile_query, driver_connection
from app.core.failpoints import failpoint
from app.core.logging import info_line, log_context
from app.core.to_the_end import to_the_end
from app.inboxes import grants
from app.inboxes.models import EmailInbox
from app.inboxes.service import smtp_server
from app.outbox.models import OutgoingEmail
from app.outbox.outgoing import build_message, render_claimed
from app.outbox.smtp import SmtpConnection, SmtpError, SmtpServer
from app.workers.leases import claim_due

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# Mail held up by its inbox's sign-in waits this long before it counts attempts, trying
# again every INBOX_RETRY.
INBOX_WAIT = timedelta(days=3)
INBOX_RETRY = timedelta(minutes=10)
RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 3600.0
BATCH = 20


def system_smtp(settings: Settings) -> SmtpServer | None:
    if not settings.SMTP_HOST:
        return None
    return SmtpServer(
        host=settings.SMTP_HOST,
        port=settings.SMTP_PORT,
        security=settings.SMTP_SECURITY,
        username=settings.SMTP_USERNAME,
        password=settings.SMTP_PASSWORD,
    )


def retry_delay(attempts: int) -> float:
    """Exponential backoff with jitter: 30 s, 60 s, 120 s … capped at an hour."""
    base = min(RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1), RETRY_MAX_SECONDS)
    return base * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security


async def claim_due_mail(
    session: AsyncSession, lease_seconds: float, limit: int = BATCH
) -> list[OutgoingEmail]:
    return await claim_due(
        session,
        OutgoingEmail,
        due_column=OutgoingEmail.next_attempt_at,
        where=OutgoingEmail.status == "pending",
        lease_seconds=lease_seconds,
        limit=limit,
    )


def _write_to_folder(settings: Settings, mail: OutgoingEmail, raw: bytes) -> Path:
    folder = settings.data_dir / "mail"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{clock.now():%Y%m%dT%H%M%S}-{mail.id}.eml"
    path.write_bytes(raw)
    path.chmod(0o600)
    return path


async def send_due_mail(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    """Send due mail: up to BATCH mails claimed in one transaction, mail for one SMTP
    server sent over one connection, each outside any transaction. Returns how many
    were handled.

    Each mail renews its lease when its sending starts (`_record` with the lease it
    was claimed with), so one that waited behind a slow server is either still this
    worker's, or another worker's that took it after the lease ran out, never both.
    """
    async with sessionmaker() as session, session.begin():
        claimed = await claim_due_mail(session, settings.WORKER_LEASE_SECONDS)
        handled = len(claimed)
        claimed = [mail for mail in claimed if _rendered(mail, settings)]
    if not handled:
        return 0
    connections: dict[SmtpServer, SmtpConnection] = {}
    unreachable: dict[SmtpServer, SmtpError] = {}
    started = 0
    try:
        inboxes = _Inboxes(sessionmaker, settings, await _inboxes_of(sessionmaker, claimed))
        await inboxes.prepare()
        for mail in claimed:
            started += 1
            with log_context(mail_id=mail.id, mail_kind=mail.kind):
                await _deliver(sessionmaker, settings, mail, inboxes, connections, unreachable)
    except asyncio.CancelledError:
        # A shutdown: the mails not reached yet go back at once rather than when
        # their leases run out, and no connection waits for a goodbye.
        for connection in connections.values():
            connection.abort()
        await _give_back(
            _release(sessionmaker, claimed[started:]),
            "could not give back the mails not reached yet",
        )
        raise
    finally:
        for connection in connections.values():
            await connection.close()  # QUIT where still connected
    return handled


def _rendered(mail: OutgoingEmail, settings: Settings) -> bool:
    """Render a mail queued unrendered (stored with the claim, so every attempt sends
    the same message); one that cannot be rendered fails alone, not the round."""
    try:
        render_claimed(mail, settings)
    except Exception as exc:
        with log_context(mail_id=mail.id, mail_kind=mail.kind):
            log.exception("mail could not be rendered; not sent")
        mail.status, mail.lease_until = "failed", None
        mail.last_error = f"could not be rendered: {type(exc).__name__}"
        return False
    return True


async def _inboxes_of(
    sessionmaker: async_sessionmaker[AsyncSession], mails: list[OutgoingEmail]
) -> dict[int, EmailInbox]:
    """The inboxes the mails go out through, in one query."""
    ids = {mail.email_inbox_id for mail in mails if mail.email_inbox_id is not None}
    if not ids:
        return {}
    async with sessionmaker() as session:
        found = await session.scalars(select(EmailInbox).where(EmailInbox.id.in_(ids)))
        return {inbox.id: inbox for inbox in found}


class _Inboxes:
    """The round's inboxes, and the SMTP server each mail goes out through: the inbox's
    own when the mail names one that has it (with a valid access token for an oauth2
    inbox, fetched once per round), else the system's."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        inboxes: dict[int, EmailInbox],
    ) -> None:
        self.sessionmaker, self.settings, self.inboxes = sessionmaker, settings, inboxes
        self.tokens: dict[int, grants.AccessToken | grants.TokenUnavailable] = {}
        self.cleared: set[int] = set()

    def _inbox_of(self, mail: OutgoingEmail) -> EmailInbox | None:
        return self.inboxes.get(mail.email_inbox_id) if mail.email_inbox_id is not None else None

    async def prepare(self) -> None:
        """The oauth2 inboxes' tokens, side by side: a provider that does not answer
        holds up the round once (its timeout), not once per inbox."""
        oauth2 = [i.id for i in self.inboxes.values() if i.auth_kind == "oauth2" and i.smtp_host]
        await asyncio.gather(*(self._token(inbox_id) for inbox_id in oauth2))

    async def _token(
        self, inbox_id: int, refused: str | None = None
    ) -> grants.AccessToken | grants.TokenUnavailable:
        if inbox_id not in self.tokens or refused is not None:
            try:
                self.tokens[inbox_id] = await grants.access_token(
                    self.sessionmaker,
                    self.settings,
                    inbox_id,
                    owner=grants.process_owner("mail"),
                    refused=refused,
                    # Another worker refreshing it: this mail waits for a later round
                    # rather than holding up everyone else's.
                    wait=False,
                )
            except grants.TokenUnavailable as exc:
                self.tokens[inbox_id] = exc
            except Exception as exc:  # a broken grant must not stop the round
                log.exception("the inbox's token could not be had")
                self.tokens[inbox_id] = grants.TokenUnavailable(
                    f"internal error: {type(exc).__name__}", status="retrying"
                )
        return self.tokens[inbox_id]

    async def server_for(self, mail: OutgoingEmail) -> SmtpServer | None:
        inbox = self._inbox_of(mail)
        if inbox is None or not inbox.smtp_host:
            return system_smtp(self.settings)
        if inbox.auth_kind != "oauth2":
            return smtp_server(inbox, self.settings)
        token = await self._token(inbox.id)
        if isinstance(token, grants.TokenUnavailable):
            # Retried with backoff: a reconnected inbox sends what waited.
            raise SmtpError(
                f"The inbox cannot sign in to send: {token}", retryable=True, inbox_state=True
            )
        return smtp_server(inbox, self.settings, token.token)

    async def refused(self, mail: OutgoingEmail, error: SmtpError) -> None:
        """After a refused sign-in through an oauth2 inbox: a tenant that refuses SMTP
        AUTH is the manager's to fix (said once); a refused token is renewed once (the
        mail goes with the next round), unless it is brand new."""
        inbox = self._inbox_of(mail)
        if inbox is None or inbox.auth_kind != "oauth2":
            return
        if error.auth_disabled:
            await grants.note_smtp_check(self.sessionmaker, self.settings, inbox.id, str(error))
            return
        token = self.tokens.get(inbox.id)
        if error.token_refused and isinstance(token, grants.AccessToken) and not token.fresh():
            await self._token(inbox.id, refused=token.token)

    async def sent(self, mail: OutgoingEmail) -> None:
        """A mail went out through an oauth2 inbox: a `smtp_disabled` mark is stale."""
        inbox = self._inbox_of(mail)
        if inbox is not None and inbox.auth_kind == "oauth2" and inbox.id not in self.cleared:
            self.cleared.add(inbox.id)
            await grants.note_smtp_check(self.sessionmaker, self.settings, inbox.id, None)


@cache
def _update(columns: tuple[str, ...]) -> Query:
    """UPDATE one mail's `columns` (and updated_at) while it holds the lease it was
    claimed with; built once per column set."""
    table = cast(Table, OutgoingEmail.__table__)
    return compile_query(
        update(table)
        .where(table.c.id == bindparam("mail_id"), table.c.lease_until == bindparam("held"))
        .values({name: bindparam(name, type_=table.c[name].type) for name in columns})
    )


async def _record(
    sessionmaker: async_sessionmaker[AsyncSession], mail: OutgoingEmail, **values: object
) -> bool:
    """Write to the mail while this worker still holds the lease it claimed it with;
    False (nothing written) once the lease ran out and another worker took it. A new
    `lease_until` among the values becomes the lease the next write checks. One
    statement that commits on its own: twice per mail sent, the sender's most
    frequent write."""
    values["updated_at"] = clock.now()
    query = _update(tuple(sorted(values)))
    async with sessionmaker() as session:
        connection = await driver_connection(session)
        try:
            status = await connection.execute(
                query.sql,
                *query.arguments({**values, "mail_id": mail.id, "held": mail.lease_until}),
            )
        except Exception:
            # Below SQLAlchemy, which cannot tell a dead connection here: it is not put
            # back in the pool (a restarted server's other connections are found dead
            # by their own first statements).
            await (await session.connection()).invalidate()
            raise
    if status == "UPDATE 0":
        log.warning("lease lost; another worker has this mail")
        return False
    if "lease_until" in values:
        mail.lease_until = values["lease_until"]  # type: ignore[assignment]
    return True


async def _give_back(work: Awaitable[object], failure: str) -> None:
    """A give-back during a stop (`work`), written whole. Should it fail, the stop goes
    on and nothing is called failed here: the mails' leases run out instead, and the
    next start decides from what their rows say."""
    try:
        await to_the_end(work)
    except Exception:
        log.exception(failure)


async def _release(
    sessionmaker: async_sessionmaker[AsyncSession], mails: list[OutgoingEmail]
) -> None:
    """Give back mails this worker claimed and did not start (their leases unchanged)."""
    for mail in mails:
        await _record(sessionmaker, mail, lease_until=None)


async def _deliver(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    mail: OutgoingEmail,
    inboxes: _Inboxes,
    connections: dict[SmtpServer, SmtpConnection],
    unreachable: dict[SmtpServer, SmtpError],
) -> None:
    if mail.sending_since is not None:
        # A worker died in the middle of sending this: it may have gone out. Sending it
        # again could mean a duplicate, so it stops here (at most once).
        log.error("mail interrupted while sending; not sent again")
        await _record(
            sessionmaker,
            mail,
            status="failed",
            lease_until=None,
            last_error="sending was interrupted; not retried so nobody gets it twice",
        )
        return
    values: dict[str, object]
    try:
        server = await inboxes.server_for(mail)
        if server is None:
            readable = build_message(mail, settings, transfer_encoding="8bit")
            path = _write_to_folder(settings, mail, readable.as_bytes())
            log.warning(
                "SMTP_HOST is unset: mail written to a file instead of sent",
                extra={"path": str(path)},
            )
        elif server in unreachable:
            # Reaching this server failed in this round already: the other mails
            # for it are retried later with the same error, instead of each waiting
            # out its own timeout now.
            raise unreachable[server]
        else:
            message = build_message(mail, settings)
            now = clock.now()
            lease = now + timedelta(seconds=settings.WORKER_LEASE_SECONDS)
            try:
                # Marked as on its way (written whole, whenever a shutdown comes).
                marked = _record(sessionmaker, mail, sending_since=now, lease_until=lease)
                if not await to_the_end(marked):
                    return  # another worker took it: it sends the mail, not this one
                connection = connections.setdefault(server, SmtpConnection(server))
                failpoint("mail.before_send")
                await _send(connection, message, unreachable)
            except asyncio.CancelledError:
                # A shutdown before the server took the message (while the mark was
                # written, or before the server's reply came): nothing was delivered,
                # so it is sent again later rather than counted as interrupted and lost.
                log.warning("mail sending cancelled by a shutdown; it will be sent again")
                await _give_back(
                    _record(sessionmaker, mail, sending_since=None, lease_until=None),
                    "could not give the mail back",
                )
                raise
            failpoint("mail.after_send")
            info_line(log, "mail sent", {})
        values = {"status": "sent", "sent_at": clock.now(), "last_error": None}
        if mail.is_sensitive:  # the secret link has done its job
            values.update(text_body="", html_body=None)
    except SmtpError as exc:
        try:
            await inboxes.refused(mail, exc)
        except Exception:  # the mail's own outcome is written whatever happens here
            log.exception("could not note the inbox's refused sign-in")
        attempts = mail.attempts + 1
        if exc.waits_for_the_inbox and mail.created_at > clock.now() - INBOX_WAIT:
            # The inbox's sign-in, not the mail: it waits (uncounted) for the manager
            # to reconnect or an administrator to allow SMTP AUTH, for days if need be.
            log.warning("mail waits for its inbox's sign-in", extra={"error": str(exc)})
            values = {"next_attempt_at": clock.now() + INBOX_RETRY}
            attempts = mail.attempts
        elif exc.retryable and attempts < MAX_ATTEMPTS:
            delay = retry_delay(attempts)
            values = {"next_attempt_at": clock.now() + timedelta(seconds=delay)}
            log.warning("mail not sent; will retry", extra={"error": str(exc), "in_s": delay})
        else:
            values = {"status": "failed"}
            log.error("mail not sent; giving up", extra={"error": str(exc)})
        values.update(attempts=attempts, last_error=str(exc))
    except Exception as exc:  # a broken row must not stop the others
        log.exception("mail could not be built")
        values = {"status": "failed", "attempts": mail.attempts + 1, "last_error": repr(exc)}
    # The outcome is written whole too: a mail handed to the server and then left
    # marked as on its way would count as interrupted at the next start (not sent
    # again, so recorded as failed though delivered).
    await to_the_end(_record(sessionmaker, mail, lease_until=None, sending_since=None, **values))
    if values.get("status") == "sent":
        try:
            await inboxes.sent(mail)
        except Exception:  # the mail is sent and recorded; a stale mark can wait
            log.exception("could not clear the inbox's smtp_disabled mark")


async def _send(
    connection: SmtpConnection, message: EmailMessage, unreachable: dict[SmtpServer, SmtpError]
) -> None:
    """Send on the round's connection to the server; a server that could not be
    reached (or would not let us in) is marked so for the rest of the round."""
    try:
        await connection.send(message)
    except SmtpError as exc:
        if exc.reaching:
            unreachable[connection.server] = exc
        raise
