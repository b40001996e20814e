"""The mail worker: sends what the outbox holds, retrying with backoff."""

from __future__ import annotations

import logging
import random
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.core.clock import clock
from app.core.logging import log_context
from app.mail.models import OutgoingEmail
from app.mail.outgoing import build_message
from app.mail.smtp import SmtpError, SmtpServer, send_message
from app.workers.leases import claim_due

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 3600.0
LEASE_SECONDS = 120.0
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


async def claim_due_mail(session: AsyncSession, limit: int = BATCH) -> list[OutgoingEmail]:
    return await claim_due(
        session,
        OutgoingEmail,
        due_column=OutgoingEmail.next_attempt_at,
        where=OutgoingEmail.status == "pending",
        lease_seconds=LEASE_SECONDS,
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
    """Claim due mail, send each outside any transaction, record the outcome. Returns
    how many were handled."""
    async with sessionmaker() as session, session.begin():
        claimed = await claim_due_mail(session)
    server = system_smtp(settings)
    for mail in claimed:
        with log_context(mail_id=mail.id, mail_kind=mail.kind):
            await _deliver(sessionmaker, settings, server, mail)
    return len(claimed)


async def _deliver(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    server: SmtpServer | None,
    mail: OutgoingEmail,
) -> None:
    values: dict[str, object]
    try:
        if server is None:
            readable = build_message(mail, settings, transfer_encoding="8bit")
            path = _write_to_folder(settings, mail, readable.as_bytes())
            log.warning(
                "SMTP_HOST is unset: mail written to a file instead of sent",
                extra={"path": str(path)},
            )
        else:
            await send_message(server, build_message(mail, settings))
            log.info("mail sent")
        values = {"status": "sent", "sent_at": clock.now(), "last_error": None}
        if mail.is_sensitive:  # the secret link has done its job
            values.update(text_body="", html_body=None)
    except SmtpError as exc:
        attempts = mail.attempts + 1
        if exc.retryable and attempts < MAX_ATTEMPTS:
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
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(OutgoingEmail)
            .where(OutgoingEmail.id == mail.id)
            .values(lease_until=None, **values)
        )
