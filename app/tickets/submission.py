"""The public form's submission (SPEC 4.1): honeypot, rate limit, then the report."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.boards.placement import place_report
from app.core.config import RateLimit, Settings
from app.core.errors import BoardUnavailable, TooManyRequests
from app.core.i18n import from_accept_language, pick_language
from app.ratelimit.service import address_key, hit_or_refuse, retry_after
from app.tickets.schemas import PublicSubmission
from app.tickets.service import NewReport, board_for_report

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
    # The count is read without a lock first and taken at the very end: the counter's
    # row is then locked for the commit alone, not for the whole request, so reports
    # from one address (an office behind one proxy) do not queue behind each other.
    key = f"public-submit:{address_key(client_ip)}"
    rate = settings.public_submit_rate
    try:
        board, manager_language, hits = await board_for_report(
            session, public_id, rate_key=key, rate=rate
        )
    except BoardUnavailable:
        # Count the attempt: probing for boards is throttled like submitting.
        await _count_or_refuse(session, key, rate)
        raise BoardUnavailable(keep_changes=True) from None
    if hits >= rate.limit:
        raise _too_many(retry_after(rate))
    language = pick_language(data.language, from_accept_language(accept_language), manager_language)
    report = NewReport(
        title=data.title,
        description=data.description,
        reporter_email=str(data.email),
        reporter_name=data.name,
        source="web",
        language=language,
    )
    placed = await place_report(session, settings, board=board, report=report)
    # Reports racing past the first look are refused here, with all they wrote.
    await _count_or_refuse(session, key, rate)
    return placed.uuid


def _too_many(wait: int) -> TooManyRequests:
    return TooManyRequests(
        f"Too many reports from your address. Try again in {wait} seconds.", retry_after=wait
    )


async def _count_or_refuse(session: AsyncSession, key: str, rate: RateLimit) -> None:
    wait = await hit_or_refuse(session, key=key, rate=rate)
    if wait is not None:
        raise _too_many(wait)
