"""The forwarder: pushes pending external tickets to Jira or Trello, once each.

A push is claimed with a lease that also counts the attempt, so a retry after an
unknown outcome (a timeout, a dropped connection, a crash) first looks the report's
UUID up on the platform, and only creates the issue or card if it is not there.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.boards.models import Board
from app.core.clock import clock
from app.core.config import Settings
from app.core.failpoints import failpoint
from app.core.logging import log_context
from app.core.outbound import CheckedTransport
from app.core.redaction import redact_uuids
from app.integrations.base import CreatedIssue, PlatformError
from app.integrations.models import ExternalTicket
from app.integrations.service import next_attempt, park_failed, platform_for, report_of
from app.workers.leases import claim_due

log = logging.getLogger(__name__)

BATCH = 10


class Forwarder:
    def __init__(self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        # One client: connections to a platform are reused between pushes. Every
        # connection it opens goes to an address checked after DNS (core/outbound.py).
        self.client = httpx.AsyncClient(
            transport=CheckedTransport(
                allow_private=settings.allow_private_network_targets,
                limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            )
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def step(self) -> int:
        """Push due reports, one claim at a time: a slow platform never lets the lease
        of a report still waiting in this worker's hands run out."""
        handled = 0
        for _ in range(BATCH):
            async with self.sessionmaker() as session, session.begin():
                claimed = await claim_due(
                    session,
                    ExternalTicket,
                    due_column=ExternalTicket.next_attempt_at,
                    where=ExternalTicket.status == "pending",
                    lease_seconds=max(
                        self.settings.WORKER_LEASE_SECONDS,
                        self.settings.INTEGRATION_TIMEOUT_SECONDS * 3,
                    ),
                    limit=1,
                    values={"attempts": ExternalTicket.attempts + 1},
                )
            if not claimed:
                break
            external = claimed[0]
            with log_context(external_ticket_id=external.id, platform=external.platform):
                await self.push(external)
            handled += 1
        return handled

    async def _save(self, external: ExternalTicket, /, **values: Any) -> bool:
        """Write the outcome while this worker still holds the lease it claimed the row
        with; False (nothing written) once the lease ran out and another worker took
        the row: that worker's outcome stands."""
        async with self.sessionmaker() as session, session.begin():
            result = await session.execute(
                update(ExternalTicket)
                .where(
                    ExternalTicket.id == external.id,
                    ExternalTicket.status == "pending",
                    ExternalTicket.lease_until == external.lease_until,
                )
                .values(**values)
            )
        if not result.rowcount:  # type: ignore[attr-defined]
            log.warning("lease lost before the result was saved; another worker has the report")
            return False
        return True

    async def push(self, external: ExternalTicket) -> None:
        async with self.sessionmaker() as session:
            board = await session.get_one(Board, external.board_id)
        try:
            if board.external_platform != external.platform or board.external_config is None:
                raise PlatformError(
                    f"the board is no longer connected to {external.platform}", retryable=False
                )
            platform = platform_for(
                external.platform, board.external_config, board.id, self.settings, self.client
            )
            issue: CreatedIssue | None = None
            if external.attempts > 1 or external.last_error:
                # An earlier try may have created it without our hearing back.
                issue = await platform.find(external.uuid)
                if issue is not None:
                    log.info("found the issue an earlier attempt created")
            if issue is None:
                failpoint("forward.before_create")
                issue = await platform.create(report_of(external, self.settings))
        except PlatformError as exc:
            await self._failed(external, board, exc)
            return
        except Exception as exc:  # a bug or broken config must not stop the others
            log.exception("forward failed unexpectedly")
            await self._failed(external, board, PlatformError(repr(exc), retryable=False))
            return
        saved = await self._save(
            external,
            status="created",
            external_id=issue.external_id,
            external_url=issue.url,
            pushed_at=clock.now(),
            last_error=None,
            lease_until=None,
        )
        if saved:
            log.info("report forwarded", extra={"external_key": issue.external_id})

    async def _failed(self, external: ExternalTicket, board: Board, exc: PlatformError) -> None:
        if exc.retryable and external.attempts < self.settings.FORWARD_MAX_ATTEMPTS:
            delay = next_attempt(self.settings, external, exc)
            log.warning(
                "forward failed; will retry",
                extra={"error": redact_uuids(str(exc)), "in_s": delay.total_seconds()},
            )
            await self._save(
                external,
                last_error=str(exc),
                next_attempt_at=clock.now() + delay,
                lease_until=None,
            )
            return
        async with self.sessionmaker() as session, session.begin():
            row = await session.scalar(
                select(ExternalTicket).where(ExternalTicket.id == external.id).with_for_update()
            )
            held = row is not None and row.lease_until == external.lease_until
            if row is not None and held and row.status == "pending":
                await park_failed(session, row, board, str(exc))
