"""Forwarding: board settings, the platform clients, external tickets and their push."""

from __future__ import annotations

import logging
import random
from datetime import timedelta
from typing import Any, cast

import httpx
from sqlalchemy import Insert, Select, Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Manager
from app.boards.models import Board
from app.boards.service import get_board
from app.core.config import Settings
from app.core.crypto import DecryptionError, cipher_for
from app.core.outbound import CheckedTransport
from app.core.pagination import keyset_page
from app.core.redaction import redact_uuids
from app.integrations.base import PlatformError, Report, TicketPlatform
from app.integrations.jira import JiraCloud
from app.integrations.models import ExternalTicket
from app.integrations.schemas import IntegrationCheck, IntegrationSettings, JiraIntegration
from app.integrations.trello import Trello
from app.standby.service import add_item
from app.tickets import notifications
from app.tickets import service as tickets
from app.tickets.models import Ticket

log = logging.getLogger(__name__)

# The secret of each platform, stored encrypted under "<name>_encrypted".
SECRET_FIELDS = {"jira": "api_token", "trello": "token"}


def _context(board_id: int, field: str) -> str:
    return f"boards.external_config.{field}:{board_id}"


def stored_config(board: Board, data: IntegrationSettings, settings: Settings) -> dict[str, Any]:
    secret_field = SECRET_FIELDS[data.platform]
    values = data.model_dump(mode="json", exclude={"platform", secret_field})
    secret = getattr(data, secret_field).get_secret_value()
    cipher = cipher_for(settings)
    values[f"{secret_field}_encrypted"] = cipher.encrypt(
        secret, context=_context(board.id, secret_field)
    )
    if isinstance(data, JiraIntegration):
        values["site_url"] = str(data.site_url).rstrip("/")
    return values


async def set_integration(
    session: AsyncSession,
    settings: Settings,
    manager: Manager,
    board_id: int,
    data: IntegrationSettings,
) -> Board:
    board = await get_board(session, manager, board_id)
    board.external_platform = data.platform
    board.external_config = stored_config(board, data, settings)
    await session.flush()
    return board


async def remove_integration(session: AsyncSession, manager: Manager, board_id: int) -> Board:
    """New reports become internal tickets again. Forwards still pending cannot go out
    any more: they fail into standby, where they can be converted or discarded."""
    board = await get_board(session, manager, board_id)
    board.external_platform = None
    board.external_config = None
    await session.flush()
    return board


def platform_for(
    platform: str,
    config: dict[str, Any],
    board_id: int,
    settings: Settings,
    client: httpx.AsyncClient,
) -> TicketPlatform:
    secret_field = SECRET_FIELDS[platform]
    secret = cipher_for(settings).decrypt(
        config[f"{secret_field}_encrypted"], context=_context(board_id, secret_field)
    )
    timeout = settings.INTEGRATION_TIMEOUT_SECONDS
    if platform == "jira":
        return JiraCloud(
            site_url=config["site_url"],
            email=config["email"],
            api_token=secret,
            project_key=config["project_key"],
            issue_type=config["issue_type"],
            client=client,
            timeout=timeout,
            require_https=settings.is_production,
        )
    return Trello(
        api_key=config["api_key"],
        token=secret,
        list_id=config["list_id"],
        base_url=settings.TRELLO_API_BASE_URL,
        client=client,
        timeout=timeout,
    )


async def list_external_tickets(
    session: AsyncSession, manager: Manager, board_id: int, *, limit: int, cursor: str | None
) -> tuple[list[ExternalTicket], str | None]:
    """Reports of the manager's board forwarded to Jira or Trello, newest first."""
    await get_board(session, manager, board_id)
    query = select(ExternalTicket).where(ExternalTicket.board_id == board_id)
    return await keyset_page(
        session,
        query,
        key=(ExternalTicket.created_at, ExternalTicket.id),
        limit=limit,
        cursor=cursor,
    )


async def check_integration(
    session: AsyncSession, settings: Settings, manager: Manager, board_id: int
) -> IntegrationCheck:
    """Try the board's stored credentials and project or list against the platform now."""
    board = await get_board(session, manager, board_id)
    if board.external_platform is None or board.external_config is None:
        return IntegrationCheck(ok=False, error="The board is not connected to Jira or Trello.")
    platform_name, config = board.external_platform, dict(board.external_config)
    # End the read-only transaction: no database connection waits on a remote system.
    await session.rollback()
    transport = CheckedTransport(allow_private=settings.allow_private_network_targets)
    async with httpx.AsyncClient(transport=transport) as client:
        try:
            platform = platform_for(platform_name, config, board_id, settings, client)
        except (DecryptionError, KeyError):
            return IntegrationCheck(
                ok=False, error="The stored settings cannot be read; save the integration again."
            )
        ok, error = await check_platform(platform)
    return IntegrationCheck(ok=ok, error=error)


async def check_platform(platform: TicketPlatform) -> tuple[bool, str | None]:
    try:
        await platform.check()
    except PlatformError as exc:
        return False, str(exc)
    except (ValueError, KeyError, TypeError) as exc:  # an answer that is not the API's
        return False, f"the server's answer was not what the API sends ({type(exc).__name__})"
    return True, None


EXTERNAL_COLUMNS = (
    "uuid", "board_id", "platform", "status", "next_attempt_at", "created_at", "updated_at",
    "title", "description", "reporter_email", "reporter_name", "source", "language",
    "email_message_id",
)  # fmt: skip


def insert_external(source: Select[Any]) -> Insert:
    """INSERT the forwarded report `source` holds (a row of EXTERNAL_COLUMNS) unless
    its UUID is taken, by a ticket or another forwarded report; returns its id."""
    table = cast(Table, ExternalTicket.__table__)
    return (
        pg_insert(table)
        .from_select(list(EXTERNAL_COLUMNS), tickets.unused_uuid(source, Ticket))
        .on_conflict_do_nothing(index_elements=[table.c.uuid])
        .returning(table.c.id)
    )


def report_of(external: ExternalTicket, settings: Settings) -> Report:
    return Report(
        uuid=external.uuid,
        title=external.title,
        description=external.description,
        reporter_email=external.reporter_email,
        reporter_name=external.reporter_name,
        source=external.source,
        status_url=notifications.status_url(settings, external.uuid),
    )


def backoff(settings: Settings, attempts: int, retry_after: float | None) -> float:
    """Exponential backoff with jitter from FORWARD_RETRY_BASE_SECONDS; never sooner
    than the platform's Retry-After."""
    delay = settings.FORWARD_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    delay *= random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security
    return max(delay, retry_after or 0.0)


async def park_failed(
    session: AsyncSession, external: ExternalTicket, board: Board, error: str
) -> None:
    """A push that failed for good waits in its manager's standby queue."""
    external.status = "failed"
    external.last_error = error
    external.lease_until = None
    await add_item(
        session,
        manager_id=board.manager_id,
        kind="failed_external",
        reason="platform_error",
        external_ticket_id=external.id,
        payload={
            "title": external.title,
            "sender": external.reporter_email,
            "sender_name": external.reporter_name,
            "platform": external.platform,
            "board": {"id": board.id, "name": board.name},
            "last_error": error,
            "attempts": external.attempts,
        },
    )
    # A platform's answer may quote the report's UUID (a label, a search): not in logs.
    log.warning("forward failed; waiting in standby", extra={"error": redact_uuids(error)})


def next_attempt(settings: Settings, external: ExternalTicket, exc: PlatformError) -> timedelta:
    return timedelta(seconds=backoff(settings, external.attempts, exc.retry_after))
