"""The background workers, started by the app's lifespan or by `python -m app worker`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import clock
from app.core.config import Settings
from app.core.database import database_unavailable_cause
from app.inboxes import grants
from app.inboxes.models import InboxOAuthRequest
from app.ratelimit.service import delete_expired
from app.workers.forwarder import Forwarder
from app.workers.inbox_poller import InboxPoller
from app.workers.mail_sender import send_due_mail

log = logging.getLogger(__name__)

IDLE_SECONDS = 1.0
MAINTENANCE_SECONDS = 600.0
ERROR_BACKOFF_SECONDS = 5.0
MAIL_WAITS_FOR_READING = 3.0  # seconds at most per round of mail


class WorkerRunner:
    """Runs each worker loop as a task; one loop's failure is logged and retried."""

    def __init__(self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self.inboxes = InboxPoller(settings, sessionmaker)
        self.forwarder = Forwarder(settings, sessionmaker)

    def start(self) -> None:
        # The parse pool's processes take a while to start: a new inbox's first mail
        # does not wait for them. Should they not start now, the first claimed inbox
        # starts them again (InboxPoller.step).
        try:
            self.inboxes.parser.start()
        except Exception:
            log.exception("the parse pool could not start; it starts with the first inbox")
        self._tasks = [
            asyncio.create_task(self._loop("mail", self._send_mail, IDLE_SECONDS)),
            asyncio.create_task(
                self._loop("inboxes", self.inboxes.step, IDLE_SECONDS, wake=self.inboxes.due)
            ),
            asyncio.create_task(self.inboxes.listen()),
            asyncio.create_task(self._loop("forwarder", self.forwarder.step, IDLE_SECONDS)),
            asyncio.create_task(self._loop("maintenance", self._maintain, MAINTENANCE_SECONDS)),
        ]
        log.info(
            "workers started", extra={"workers": ["mail", "inboxes", "forwarder", "maintenance"]}
        )

    async def stop(self) -> None:
        self._stopping.set()
        started = bool(self._tasks)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.inboxes.stop()
        await self.forwarder.close()
        # A token refresh cut off by the stop still saves the provider's answer.
        await grants.drain()
        self._tasks = []
        if started:
            log.info("workers stopped")

    def request_stop(self) -> None:
        """Ask `wait()` to return (signal handlers call this)."""
        self._stopping.set()

    async def wait(self) -> None:
        await self._stopping.wait()

    async def _send_mail(self) -> int:
        # While a session reads a backlog, mail waits (a round every few seconds at
        # most): reading a mailbox's import first and answering it after gets the
        # tickets in sooner, and the answers go out as soon as it is read.
        await _until(self.inboxes.quiet, MAIL_WAITS_FOR_READING)
        return await send_due_mail(self.sessionmaker, self.settings)

    async def _maintain(self) -> int:
        async with self.sessionmaker() as session, session.begin():
            removed = await delete_expired(session)
            await session.execute(
                delete(InboxOAuthRequest).where(InboxOAuthRequest.expires_at < clock.now())
            )
        # Sign-ins nobody used for a day are refreshed, so they never die of idleness.
        await grants.refresh_stale(
            self.sessionmaker, self.settings, owner=grants.process_owner("maintenance")
        )
        return removed

    async def _loop(
        self,
        name: str,
        step: Callable[[], Awaitable[int]],
        idle: float,
        wake: asyncio.Event | None = None,
    ) -> None:
        """Run `step` again at once while it finds work; else after `idle` seconds, or
        as soon as `wake` is set."""
        while not self._stopping.is_set():
            try:
                handled = await step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if database_unavailable_cause(exc) is not None:
                    log.warning(
                        "worker step failed: the database does not answer",
                        extra={"worker": name, "error": type(exc).__name__},
                    )
                else:
                    log.exception("worker step failed", extra={"worker": name})
                await asyncio.sleep(ERROR_BACKOFF_SECONDS)
                continue
            if not handled:
                await _rest(idle, wake)


async def _rest(seconds: float, wake: asyncio.Event | None) -> None:
    if wake is None:
        await asyncio.sleep(seconds)
        return
    await _until(wake, seconds)
    wake.clear()


async def _until(event: asyncio.Event, seconds: float) -> None:
    """Wait for `event`, `seconds` at most."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        pass
