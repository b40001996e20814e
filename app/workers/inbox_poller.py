"""The inbox worker: claims due inboxes with a lease and turns their new mail into
tickets, exactly once (SPEC 4.3).

For each claimed inbox a session task connects, ingests what is new, and then, if
the server offers IMAP IDLE, stays connected and wakes up as soon as mail arrives
(renewing its lease every cycle) for up to SESSION_SECONDS; without IDLE it polls
again after the inbox's interval. New mail is fetched, parsed (in other processes)
and written in batches: one transaction per batch, and the batch is flagged \\Seen
only after it committed. While a batch is written, the next one is fetched and
parsed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.models import Manager
from app.core.clock import clock
from app.core.config import Settings
from app.core.database import database_unavailable_cause, listening_connection
from app.core.direct import Pipeline, below
from app.core.failpoints import failpoint
from app.core.logging import log_context
from app.core.to_the_end import to_the_end
from app.inboxes import grants
from app.inboxes.imap import ImapError, ImapMailbox
from app.inboxes.models import READABLE_GRANT_STATUSES, EmailInbox, InboxOAuthGrant
from app.inboxes.service import imap_settings
from app.intake.ingest import (
    InboxContext,
    inbox_context,
    ingest_message,
    ingest_too_large,
    record_unreadable,
)
from app.intake.parse import IncomingEmail
from app.intake.parse_pool import Parsed, ParsePool
from app.workers.leases import claim_due

log = logging.getLogger(__name__)

IDLE_CYCLE_SECONDS = 25.0  # at most; always well inside the lease
# What an inbox made due now announces (migration 0011's trigger), and how soon a lost
# listening connection is opened again.
DUE_CHANNEL = "inbox_due"
LISTEN_RETRY_SECONDS = 5.0
SESSION_SECONDS = 300.0
ERROR_RETRY_SECONDS = 60.0
CLAIM_BATCH = 10
# New mail is read in batches: one FETCH of the sizes for up to FETCH_BATCH messages,
# then one FETCH, one transaction and one STORE per batch of at most BATCH_BYTES.
FETCH_BATCH = 100
BATCH_BYTES = 8 * 1024 * 1024
# After handing an inbox back, a worker leaves it to the others for this long.
HANDOVER_SECONDS = 3.0
# A session whose server drops it (BYE) signs in again at once, this often at most.
RECONNECTS_PER_SESSION = 3


@dataclass(frozen=True)
class Fetched:
    """A batch read from the mailbox: its UIDs in order, their sizes, the messages
    downloaded and parsed, and the headers of those too large to download."""

    uids: list[int]
    sizes: dict[int, int]
    raws: dict[int, bytes | bytearray]
    parsed: dict[int, Parsed]
    heads: dict[int, bytes]


@dataclass(frozen=True)
class Written:
    """A batch committed and not flagged yet, and the position to save once it is
    (None on a fresh start, which saves it at the end)."""

    batch: Fetched
    position: int | None


class SettingsChanged(Exception):
    """The manager changed the inbox's IMAP settings while a session read with the old."""


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class InboxPoller:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        owner: str | None = None,
        parse_processes: int | None = None,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.owner = owner or worker_id()
        # Mail is parsed in other processes (one per CPU by default; 0: in a thread).
        self.parser = ParsePool(parse_processes)
        self.sessions: dict[int, asyncio.Task[None]] = {}
        # The settings version each running session read its inbox with.
        self.versions: dict[int, int] = {}
        self.lease_seconds = settings.WORKER_LEASE_SECONDS
        self.idle_seconds = min(IDLE_CYCLE_SECONDS, self.lease_seconds / 3)
        # A session hands its inbox back now and then, so replicas share the work and
        # changed settings are picked up.
        self.session_seconds = min(SESSION_SECONDS, self.lease_seconds * 4)
        # Set when an inbox was announced due (`listen`): the inbox loop looks at once.
        self.due = asyncio.Event()
        # Set while no session reads a backlog (`reading`): the mail worker waits for it.
        self.quiet = asyncio.Event()
        self.quiet.set()
        self._backlogs = 0

    @contextmanager
    def reading(self, *, backlog: bool) -> Iterator[None]:
        """A session reads new mail; `backlog`: more than one batch of it. Replies to
        a backlog wait while it is read (the mail worker shares this event loop)."""
        if not backlog:
            yield
            return
        self._backlogs += 1
        self.quiet.clear()
        try:
            yield
        finally:
            self._backlogs -= 1
            if not self._backlogs:
                self.quiet.set()

    async def listen(self) -> None:
        """LISTEN for inboxes made due now (created, changed, "poll now") on a
        connection of its own, and set `due` for each announcement; opened again when
        lost. While nobody listens, the loop still looks every second."""
        while True:
            try:
                await self._listen_until_lost()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "cannot listen for due inboxes; looking for them every second",
                    extra={"error": type(exc).__name__},
                )
            await asyncio.sleep(LISTEN_RETRY_SECONDS)

    async def _listen_until_lost(self) -> None:
        connection = await listening_connection(self.sessionmaker.kw["bind"], self.settings)
        try:
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _: lost.set())
            await connection.add_listener(DUE_CHANNEL, lambda *_: self.due.set())
            self.due.set()  # an inbox announced while nobody listened
            await lost.wait()
        finally:
            connection.terminate()

    async def step(self) -> int:
        """Claim due inboxes and start a session for each; returns how many."""
        for inbox_id, task in list(self.sessions.items()):
            if task.done():
                del self.sessions[inbox_id]
        claimed_at = clock.now()
        async with self.sessionmaker() as session, session.begin():
            claimed = await claim_due(
                session,
                EmailInbox,
                due_column=EmailInbox.next_poll_at,
                # Never a second session for an inbox this process is still reading.
                where=EmailInbox.id.not_in(list(self.sessions) or [0])
                & EmailInbox.is_active
                & EmailInbox.manager_id.in_(select(Manager.id).where(~Manager.is_suspended))
                # An oauth2 inbox whose sign-in is dead waits for its manager to reconnect.
                & or_(
                    EmailInbox.auth_kind == "password",
                    EmailInbox.id.in_(
                        select(InboxOAuthGrant.email_inbox_id).where(
                            InboxOAuthGrant.status.in_(READABLE_GRANT_STATUSES)
                        )
                    ),
                )
                & or_(
                    EmailInbox.lease_owner.is_(None),
                    EmailInbox.lease_owner != self.owner,
                    EmailInbox.next_poll_at < clock.now() - timedelta(seconds=HANDOVER_SECONDS),
                ),
                lease_seconds=self.lease_seconds,
                limit=CLAIM_BATCH,
                values={"lease_owner": self.owner},
            )
        if claimed:
            self.parser.start()  # while the sessions connect
        for inbox in claimed:
            self.sessions[inbox.id] = asyncio.create_task(self.run_session(inbox.id, claimed_at))
        return len(claimed)

    async def stop(self) -> None:
        for task in self.sessions.values():
            task.cancel()
        await asyncio.gather(*self.sessions.values(), return_exceptions=True)
        self.sessions.clear()
        self.parser.close()

    async def _inbox(self, inbox_id: int) -> EmailInbox | None:
        async with self.sessionmaker() as session:
            return await session.get(EmailInbox, inbox_id)

    def _current(self, inbox_id: int) -> ColumnElement[bool]:
        """This worker holds the inbox, under the settings its session started with:
        once a manager changes them, the session's writes no longer land."""
        return and_(
            EmailInbox.id == inbox_id,
            EmailInbox.lease_owner == self.owner,
            EmailInbox.settings_version == self.versions.get(inbox_id, -1),
        )

    async def _update(self, inbox_id: int, *, release: bool = False, **values: object) -> bool:
        """Write to the inbox while this worker holds its lease and its settings are the
        session's; False once not. `release` (handing the inbox back) only needs the
        lease."""
        held = (
            and_(EmailInbox.id == inbox_id, EmailInbox.lease_owner == self.owner)
            if release
            else self._current(inbox_id)
        )
        async with self.sessionmaker() as session, session.begin():
            result = await session.execute(update(EmailInbox).where(held).values(**values))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _renew(self, inbox_id: int) -> bool:
        """Extend the lease; False (the session ends) once the lease is lost, the inbox
        switched off or its settings changed."""
        async with self.sessionmaker() as session, session.begin():
            result = await session.execute(
                update(EmailInbox)
                .where(self._current(inbox_id), EmailInbox.is_active)
                .values(lease_until=clock.now() + timedelta(seconds=self.lease_seconds))
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def run_session(self, inbox_id: int, claimed_at: datetime) -> None:
        with log_context(inbox_id=inbox_id, worker=self.owner):
            log.info("inbox session started", extra={"at": time.time()})
            next_poll = clock.now()
            try:
                inbox = await self._inbox(inbox_id)
                if inbox is None:
                    return
                self.versions[inbox_id] = inbox.settings_version
                next_poll = clock.now() + timedelta(seconds=inbox.poll_interval_seconds)
                box, renew_at = await self._connect(inbox)
                try:
                    await self.sync(inbox_id, box)
                    await self._healthy(inbox_id)
                    if box.has_idle:
                        box = await self._idle(inbox, box, renew_at)
                        next_poll = clock.now()  # take it up again at once
                finally:
                    await box.close()
            except SettingsChanged:
                log.info("inbox settings changed: the session ends, the next one uses them")
                next_poll = clock.now()
            except grants.TokenUnavailable as exc:
                # Said on the grant (and, when the manager must act, by mail): here too,
                # so the inbox shows why it is not read.
                log.warning("inbox has no usable sign-in", extra={"status": exc.status})
                await self._update(inbox_id, last_error=str(exc), last_error_at=clock.now())
                next_poll = clock.now() + timedelta(seconds=ERROR_RETRY_SECONDS)
            except ImapError as exc:
                log.warning("inbox poll failed", extra={"error": str(exc)})
                await self._update(inbox_id, last_error=str(exc), last_error_at=clock.now())
                next_poll = clock.now() + timedelta(seconds=ERROR_RETRY_SECONDS)
            except asyncio.CancelledError:
                next_poll = clock.now()
                raise
            except Exception as exc:
                if database_unavailable_cause(exc) is not None:
                    # Not the inbox's fault, and nothing to write it down in: one line.
                    log.warning(
                        "inbox poll stopped: the database does not answer",
                        extra={"error": type(exc).__name__},
                    )
                else:
                    log.exception("inbox poll failed unexpectedly")
                    await self._update(
                        inbox_id,
                        last_error=f"internal error: {type(exc).__name__}",
                        last_error_at=clock.now(),
                    )
                next_poll = clock.now() + timedelta(seconds=ERROR_RETRY_SECONDS)
            finally:
                # lease_owner stays as "who had it last", for the hand-over rule above.
                # A poll asked for since the claim ("poll now", new settings) moved
                # next_poll_at past the claim: keep the earlier of the two.
                release = self._update(
                    inbox_id,
                    release=True,
                    lease_until=None,
                    next_poll_at=case(
                        (
                            EmailInbox.next_poll_at > claimed_at,
                            func.least(EmailInbox.next_poll_at, next_poll),
                        ),
                        else_=next_poll,
                    ),
                )
                log.info("inbox session ended", extra={"at": time.time()})
                await to_the_end(release)

    async def _connect(self, inbox: EmailInbox) -> tuple[ImapMailbox, datetime | None]:
        """An open mailbox, and for an oauth2 inbox when its token must be renewed. A
        token the server refuses although the provider issued it is renewed once."""

        async def opened(token: str | None = None) -> ImapMailbox:
            box = ImapMailbox(imap_settings(inbox, self.settings, token))
            await box.open()
            return box

        if inbox.auth_kind != "oauth2":
            return await opened(), None
        token = await grants.access_token(
            self.sessionmaker, self.settings, inbox.id, owner=self.owner
        )
        try:
            box = await opened(token.token)
        except ImapError as exc:
            # A token issued a moment ago and refused: another one would be refused too
            # (IMAP off for the mailbox, no access to it): said, not retried in a loop.
            if not exc.token_refused or token.fresh():
                raise
            log.info("the server refused the access token; getting a new one")
            token = await grants.access_token(
                self.sessionmaker, self.settings, inbox.id, owner=self.owner, refused=token.token
            )
            box = await opened(token.token)
        return box, token.renew_at

    async def _idle(
        self, inbox: EmailInbox, box: ImapMailbox, renew_at: datetime | None
    ) -> ImapMailbox:
        """Wait for new mail with IDLE until the session's time is up; returns the
        mailbox open at the end. Before an oauth2 inbox's token expires, and when the
        server ends the conversation (BYE: Microsoft does when a token expires, any
        server on a restart), it signs in again and goes on."""
        inbox_id = inbox.id
        ends = clock.now() + timedelta(seconds=self.session_seconds)
        reconnects = 0
        try:
            while clock.now() < ends and await self._renew(inbox_id):
                if renew_at is not None and clock.now() >= renew_at:
                    log.info("inbox token expires soon: signing in again")
                    await box.close()
                    box, renew_at = await self._connect(inbox)
                else:
                    wait = self.idle_seconds
                    if renew_at is not None:
                        wait = max(0.5, min(wait, (renew_at - clock.now()).total_seconds()))
                    try:
                        await box.idle(wait)
                    except ImapError as exc:
                        reconnects += 1
                        if not exc.bye or reconnects > RECONNECTS_PER_SESSION:
                            raise
                        log.info("the server ended the IDLE session (BYE): signing in again")
                        await box.close()
                        box, renew_at = await self._connect(inbox)
                await self.sync(inbox_id, box)
                await self._healthy(inbox_id)
        except BaseException:
            await box.close()  # the one opened here; the caller closes the first
            raise
        return box

    async def _healthy(self, inbox_id: int) -> None:
        await self._update(inbox_id, last_polled_at=clock.now(), last_error=None)

    async def sync(self, inbox_id: int, box: ImapMailbox) -> int:
        """Ingest every message that is new since the last sync; returns how many."""
        inbox = await self._inbox(inbox_id)
        assert inbox is not None
        if inbox.settings_version != self.versions.get(inbox_id):
            raise SettingsChanged()
        fresh = inbox.uid_validity != box.uid_validity or inbox.last_seen_uid is None
        if fresh:
            if inbox.uid_validity is not None:
                log.warning("UIDVALIDITY changed: reading the unseen messages again")
            uids = await box.unseen_uids()
            position = max((box.uid_next or 1) - 1, 0)
        else:
            assert inbox.last_seen_uid is not None
            uids = await box.uids_after(inbox.last_seen_uid)
            position = inbox.last_seen_uid
        batches = self._batches(box, uids)
        with self.reading(backlog=len(uids) > FETCH_BATCH):
            fetched = await self._fetch_next(box, batches)
            held = fetched is None or await self._renew(inbox_id)
            written: Written | None = None
            # Keep the lease alive through a long backlog; stop if it was lost.
            while fetched is not None and held:
                # While this batch is written, the rest goes on beside it: the batch
                # written before is flagged \Seen, the next one read and parsed, and the
                # lease renewed for it. The mailbox's connection and the parse pool
                # work while the database does.
                beside = asyncio.ensure_future(self._beside(inbox_id, box, batches, written))
                try:
                    await self._store(inbox_id, fetched)
                    held, upcoming = await beside
                except BaseException:
                    # A batch written but not flagged yet is read again later, and
                    # skipped (de-duplication).
                    beside.cancel()
                    await asyncio.gather(beside, return_exceptions=True)
                    raise
                # New UIDs are handled in ascending order: after a batch, everything up to
                # its last UID is done (a fresh start moves it only at the end).
                done_up_to = None if fresh else max(position, fetched.uids[-1])
                position = done_up_to or position
                written = Written(fetched, done_up_to)
                fetched = upcoming
            if written is not None:
                await self._finish(inbox_id, box, written)
            if not held:
                raise ImapError("the inbox was handed to another worker", retryable=True)
        # On a fresh start the unseen UIDs may be scattered below UIDNEXT: the position
        # moves only once all of them are handled (a crash before that reads them again,
        # and de-duplication skips what was done).
        await self._update(inbox_id, uid_validity=box.uid_validity, last_seen_uid=position)
        return len(uids)

    async def _batches(
        self, box: ImapMailbox, uids: list[int]
    ) -> AsyncIterator[tuple[list[int], dict[int, int]]]:
        """The UIDs in batches, each with its messages' sizes (one FETCH of sizes per
        FETCH_BATCH messages)."""
        for chunk in _chunks(uids, FETCH_BATCH):
            sizes = await box.sizes(chunk)
            for batch in _by_bytes(chunk, sizes, self.settings.MAX_MESSAGE_BYTES):
                yield batch, sizes

    async def _fetch_next(
        self, box: ImapMailbox, batches: AsyncIterator[tuple[list[int], dict[int, int]]]
    ) -> Fetched | None:
        """The next batch fetched in one command and parsed in the parse pool; None
        after the last. Nothing is flagged or written here."""
        following = await anext(batches, None)
        if following is None:
            return None
        uids, sizes = following
        limit = self.settings.MAX_MESSAGE_BYTES
        large = [uid for uid in uids if sizes.get(uid, 0) > limit]
        raws = await box.fetch_many([uid for uid in uids if uid not in large])
        heads = {uid: head for uid in large if (head := await box.fetch_header(uid)) is not None}
        parsed = dict(zip(raws, await self.parser.parse(list(raws.values())), strict=True))
        return Fetched(uids, sizes, raws, parsed, heads)

    async def _store(self, inbox_id: int, batch: Fetched) -> None:
        """Write a batch's outcomes in one transaction. A crash before the commit
        leaves all of it unseen to read again; after it, de-duplication skips what
        was done."""
        try:
            await self._write_batch(inbox_id, batch)
        except Exception as exc:
            if database_unavailable_cause(exc) is not None:
                raise  # the database, not the mail: left unseen, read again later
            # A message broke the pipeline: write the batch again, each message on its
            # own, so only that one is kept aside as unreadable.
            log.warning("a batch failed; handling its messages one by one")
            await self._write_batch(inbox_id, batch, one_by_one=True)
        failpoint("ingest.after_commit")

    async def _beside(
        self,
        inbox_id: int,
        box: ImapMailbox,
        batches: AsyncIterator[tuple[list[int], dict[int, int]]],
        written: Written | None,
    ) -> tuple[bool, Fetched | None]:
        """What goes on while a batch is written: the batch `written` before it
        flagged, the next batch fetched and parsed (one IMAP command at a time), then
        the lease renewed for that next batch (False: lost), as late as can be."""
        if written is not None:
            await self._finish(inbox_id, box, written)
        upcoming = await self._fetch_next(box, batches)
        held = upcoming is None or await self._renew(inbox_id)
        return held, upcoming

    async def _finish(self, inbox_id: int, box: ImapMailbox, written: Written) -> None:
        """Flag a written batch \\Seen in one command, then save its position."""
        batch = written.batch
        await box.mark_seen_many(
            [uid for uid in batch.uids if uid in batch.raws or uid in batch.heads]
        )
        failpoint("ingest.after_seen")
        if written.position is not None:
            # Only now: a batch committed but not flagged is read again (and skipped).
            await self._update(inbox_id, last_seen_uid=written.position)

    async def _write_batch(
        self, inbox_id: int, batch: Fetched, *, one_by_one: bool = False
    ) -> None:
        uids, raws, parsed, heads, sizes = (
            batch.uids, batch.raws, batch.parsed, batch.heads, batch.sizes
        )  # fmt: skip
        async with self.sessionmaker() as session, session.begin():
            inbox = await session.get_one(EmailInbox, inbox_id)
            mails = [m for m in parsed.values() if isinstance(m, IncomingEmail)]
            context = await inbox_context(session, inbox, mails)
            if not one_by_one:
                # The batch's reports are sent in rounds while the next messages are
                # decided: PostgreSQL writes while the worker thinks.
                pipeline = Pipeline((await below(session)).connection)
                context = replace(context, pipeline=pipeline)
            try:
                for uid in uids:
                    with log_context(imap_uid=uid):
                        failpoint("ingest.before_commit")
                        if uid in heads:
                            await context.settle()
                            await ingest_too_large(session, inbox, heads[uid], sizes[uid], uid=uid)
                        elif uid in raws:
                            write = self._write_one(
                                session, inbox, context, raws[uid], parsed[uid], uid
                            )
                            if one_by_one:
                                await self._isolated(
                                    session, inbox, write, raws[uid], parsed[uid], uid
                                )
                            else:
                                await write
                await context.settle()  # all of it written before the commit
            except BaseException:
                if context.pipeline is not None:
                    await context.pipeline.abandon()
                raise

    async def _write_one(
        self,
        session: AsyncSession,
        inbox: EmailInbox,
        context: InboxContext,
        raw: bytes | bytearray,
        mail: Parsed,
        uid: int,
    ) -> None:
        if isinstance(mail, Exception):
            raise mail
        await ingest_message(
            session, self.settings, inbox, raw, uid=uid, mail=mail, context=context
        )

    async def _isolated(
        self,
        session: AsyncSession,
        inbox: EmailInbox,
        write: Awaitable[None],
        raw: bytes | bytearray,
        mail: Parsed,
        uid: int,
    ) -> None:
        """One message in a savepoint; one the pipeline fails on is recorded as
        unreadable (from its bytes alone, if recording it parsed fails too)."""
        try:
            async with session.begin_nested():
                await write
            return
        except Exception as exc:
            if database_unavailable_cause(exc) is not None:
                raise
            log.exception("email could not be processed; kept in standby")
            error = f"{type(exc).__name__}: {exc}"
        parse: bool | IncomingEmail = mail if isinstance(mail, IncomingEmail) else False
        try:
            async with session.begin_nested():
                await record_unreadable(session, inbox, raw, uid=uid, error=error, parse=parse)
            return
        except Exception as exc:
            if parse is False or database_unavailable_cause(exc) is not None:
                raise
            log.exception("email could not be read again; kept from its bytes")
        async with session.begin_nested():
            await record_unreadable(session, inbox, raw, uid=uid, error=error, parse=False)


def _chunks(uids: list[int], size: int) -> list[list[int]]:
    return [uids[i : i + size] for i in range(0, len(uids), size)]


def _by_bytes(uids: list[int], sizes: dict[int, int], too_large: int) -> list[list[int]]:
    """`uids` in order, cut into batches of at most BATCH_BYTES to download (a message
    over it alone; one too large to download at all costs nothing)."""
    batches: list[list[int]] = []
    current: list[int] = []
    held = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        size = 0 if size > too_large else size
        if current and held + size > BATCH_BYTES:
            batches.append(current)
            current, held = [], 0
        current.append(uid)
        held += size
    if current:
        batches.append(current)
    return batches
