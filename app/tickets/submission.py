"""The public form's submission (SPEC 4.1): honeypot, rate limit, then the report."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.boards.placement import place_report
from app.core.config import Settings
from app.core.errors import BoardUnavailable, TooManyRequests
from app.core.i18n import from_accept_language
from app.ratelimit.service import address_key, hit_or_refuse
from app.tickets.schemas import PublicSubmission
from app.tickets.service import NewReport, public_board, reporter_language

log = logging.getLogger(__name__)


async def submit_public(
    session: AsyncSession,
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
    wait = await hit_or_refuse(
        session, key=f"public-submit:{address_key(client_ip)}", rate=settings.public_submit_rate
    )
    if wait is not None:
        raise TooManyRequests(
            f"Too many reports from your address. Try again in {wait} seconds.",
            retry_after=wait,
            keep_changes=True,
        )
    try:
        board = await public_board(session, public_id)
    except BoardUnavailable:
        # Keep the counted attempt: probing for boards is throttled like submitting.
        raise BoardUnavailable(keep_changes=True) from None
    language = await reporter_language(
        session, board, data.language, from_accept_language(accept_language)
    )
    report = NewReport(
        title=data.title,
        description=data.description,
        reporter_email=str(data.email),
        reporter_name=data.name,
        source="web",
        language=language,
    )
    placed = await place_report(session, settings, board=board, report=report)
    return placed.uuid
