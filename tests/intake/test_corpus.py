"""Every real-world email of the shared corpus goes through the pipeline.

None may crash it; each must end as a ticket, a standby item, or an ignored
auto-reply or bounce, with a non-empty title. Without `../shared` beside the
checkout this is the one test that is skipped; the samples under tests/intake/samples
still cover the parser.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import create_manager
from app.boards.models import Board, BoardKeyword
from app.core.config import Settings
from app.inboxes.models import EmailInbox
from app.intake import mime_trim
from app.intake.ingest import ingest_message, ticket_description
from app.intake.parse import parse_email
from app.standby.models import StandbyQueueItem
from app.tickets.models import Ticket

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "mail"
NOT_MAIL = {"PROVENANCE.md", ".gitattributes"}


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name not in NOT_MAIL)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus/mail is not beside this clone")
async def test_every_corpus_email_ends_somewhere_with_a_title(
    db: AsyncSession, settings: Settings
) -> None:
    files = corpus_files()
    assert len(files) > 1000
    manager = await create_manager(
        db, email="corpus@example.com", password="long enough pw", full_name="Corpus", verified=True
    )
    inbox = EmailInbox(
        manager_id=manager.id,
        name="Corpus",
        email_address="help@example.com",
        imap_host="imap.example.com",
    )
    db.add(inbox)
    await db.flush()
    for name, keywords in (("General", ["the", "a"]), ("Mail", ["mail", "message", "test"])):
        board = Board(
            manager_id=manager.id,
            name=name,
            public_id=f"{name.lower():_<22}",
            email_inbox_id=inbox.id,
        )
        db.add(board)
        await db.flush()
        db.add_all(BoardKeyword(board_id=board.id, keyword=k) for k in keywords)
    await db.flush()

    outcomes: Counter[str] = Counter()
    for uid, path in enumerate(files, start=1):
        async with db.begin_nested():
            result = await ingest_message(db, settings, inbox, path.read_bytes(), uid=uid)
        outcomes[result.outcome] += 1
        assert result.outcome in {
            "ticket",
            "standby",
            "ignored_autoreply",
            "ignored_bounce",
            "duplicate",
        }, path
        if result.outcome == "ticket":
            title = await db.scalar(select(Ticket.title).where(Ticket.uuid == result.ticket_uuid))
            assert title and title.strip(), path
        elif result.outcome == "standby":
            item = await db.get_one(StandbyQueueItem, result.standby_item_id)
            assert item.payload["title"].strip(), path
    # The corpus has all kinds; a pipeline that put everything in one place is broken.
    assert (
        min(outcomes[k] for k in ("ticket", "standby", "ignored_bounce", "ignored_autoreply")) > 0
    ), outcomes
    assert outcomes["duplicate"] < len(files) // 10, outcomes


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus/mail is not beside this clone")
def test_trimming_changes_nothing_a_ticket_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every corpus mail parsed whole and parsed trimmed (`mime_trim`, forced on for
    every size) gives the same sender, subject, attachments and description."""

    def shown(raw: bytes) -> tuple[object, ...]:
        mail = parse_email(raw)
        return (
            mail.sender_email,
            mail.sender_name,
            mail.subject,
            mail.message_id,
            mail.attachments,
            ticket_description(mail),
        )

    files = corpus_files()
    whole = [shown(path.read_bytes()) for path in files]
    monkeypatch.setattr(mime_trim, "TRIM_ABOVE", 0)
    differ = [
        path.name
        for path, before in zip(files, whole, strict=True)
        if shown(path.read_bytes()) != before
    ]
    assert differ == []
