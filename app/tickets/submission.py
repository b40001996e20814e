"""The public form's submission (SPEC 4.1): honeypot, rate limit, then the report.

The most abused route there is, so it runs below the ORM (app/core/direct.py): the
board, its manager's language and the address's count in one statement on its own,
then the report, its acknowledgement and the count in one short transaction.
"""

from __future__ import annotations

import logging
import uuid

from app.boards.placement import place_report
from app.core.config import Settings
from app.core.direct import Direct
from app.core.errors import BoardUnavailable, TooManyRequests
from app.core.i18n import from_accept_language, pick_language
from app.ratelimit.service import address_key, hit_or_refuse, retry_after
from app.tickets.schemas import PublicSubmission
from app.tickets.service import NewReport, board_for_report

log = logging.getLogger(__name__)


async def submit_public(
    direct: Direct,
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
        to, manager_language, hits = await board_for_report(
            direct, public_id, rate_key=key, rate=rate
        )
    except BoardUnavailable:
        # Count the attempt: probing for boards is throttled like submitting.
        async with direct.transaction() as db:
            wait = await hit_or_refuse(db, key=key, rate=rate)
        if wait is not None:
            raise _too_many(wait) from None
        raise
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
    async with direct.transaction() as db:
        placed = await place_report(db, settings, to=to, report=report)
        # Reports racing past the first look are refused here, with all they wrote
        # (the exception rolls the transaction back).
        wait = await hit_or_refuse(db, key=key, rate=rate)
        if wait is not None:
            raise _too_many(wait)
    return placed.uuid


def _too_many(wait: int) -> TooManyRequests:
    return TooManyRequests(
        f"Too many reports from your address. Try again in {wait} seconds.", retry_after=wait
    )
