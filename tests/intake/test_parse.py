"""The parser and the classifier on the project's own sample emails."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.intake.classify import classify
from app.intake.headers import is_address
from app.intake.ingest import ticket_description, ticket_title
from app.intake.parse import parse_email
from app.tickets.models import NO_SUBJECT

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def test_polish_subject_in_quoted_printable_iso_8859_2() -> None:
    mail = parse_email(sample("polish-qp-iso-8859-2.eml"))
    assert mail.subject == "Drukarka nie działa - zażółć gęślą jaźń"
    assert mail.sender_name == "Zbigniew Grębowski"
    assert mail.sender_email == "zbyszek@example.pl"
    assert "Drukarka na drugim piętrze zacina papier." in mail.text
    assert mail.content_language == "pl"
    assert mail.message_id == "<pl-qp-1@example.pl>"
    assert classify(mail) == "normal"


def test_html_only_mail_becomes_text() -> None:
    mail = parse_email(sample("html-only.eml"))
    assert "The\nmonitor\nflickers." in mail.text or "monitor" in mail.text
    assert "Since Monday." in mail.text and "Please help." in mail.text
    assert "<b>" not in mail.text and "alert(1)" not in mail.text and "color:red" not in mail.text


def test_an_unknown_charset_falls_back_instead_of_crashing() -> None:
    mail = parse_email(sample("unknown-charset.eml"))
    assert "Café printer" in mail.text and "broken" in mail.text


def test_without_a_subject_the_title_is_the_first_line_cut_to_120() -> None:
    mail = parse_email(sample("no-subject.eml"))
    title = ticket_title(mail)
    assert title.startswith("The printer on floor three")
    assert len(title) == 120
    empty = parse_email(b"From: a@example.org\r\n\r\n\r\n")
    assert ticket_title(empty) == NO_SUBJECT


def test_attachments_are_named_not_stored() -> None:
    mail = parse_email(sample("attachments.eml"))
    assert mail.attachments == ["report.pdf", "server.log"]
    assert "ERROR something" not in mail.text
    assert ticket_description(mail).endswith("Attachments (not stored): report.pdf, server.log")


def test_a_long_body_is_cut_with_a_visible_marker() -> None:
    raw = b"From: a@example.org\r\nSubject: long\r\n\r\n" + b"word " * 10_000
    description = ticket_description(parse_email(raw))
    assert len(description) <= 20_000
    assert description.endswith("longer than 20,000 characters]")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("out-of-office.eml", "autoreply"),
        ("bounce.eml", "bounce"),
        ("mailing-list.eml", "bulk"),
        ("attachments.eml", "normal"),
    ],
)
def test_classification(name: str, kind: str) -> None:
    assert classify(parse_email(sample(name))) == kind


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ("Auto-Submitted: auto-generated", "autoreply"),
        ("Auto-Submitted: no", "normal"),
        ("X-Autorespond: yes", "autoreply"),
        ("Precedence: auto_reply", "autoreply"),
        ("Precedence: bulk", "bulk"),
        ("Precedence: junk", "bulk"),
        ("Return-Path: <>", "normal"),  # an empty Return-Path alone is no bounce
        ("", "normal"),  # nor is a missing one
    ],
)
def test_classification_by_header(headers: str, kind: str) -> None:
    raw = f"From: a@example.org\r\nSubject: x\r\n{headers}\r\n\r\nbody\r\n".encode()
    assert classify(parse_email(raw)) == kind


def test_a_daemon_with_an_empty_return_path_is_a_bounce() -> None:
    raw = b"From: postmaster@example.org\r\nReturn-Path: <>\r\nSubject: failure\r\n\r\nx\r\n"
    assert classify(parse_email(raw)) == "bounce"


def test_a_missing_message_id_is_replaced_by_a_hash() -> None:
    raw = b"From: a@example.org\r\nSubject: x\r\n\r\nbody\r\n"
    first, second = parse_email(raw), parse_email(raw + b"more")
    assert first.message_id.endswith("@no-message-id>")
    assert first.message_id != second.message_id
    assert first.content_hash != second.content_hash


def test_reply_headers_are_read() -> None:
    raw = (
        b"From: a@example.org\r\nSubject: Re: x\r\nIn-Reply-To: <ours-1@tracker.test>\r\n"
        b"References: <first@a> <ours-1@tracker.test>\r\n\r\nthanks\r\n"
    )
    mail = parse_email(raw)
    assert mail.in_reply_to == ["<ours-1@tracker.test>"]
    assert mail.references == ["<first@a>", "<ours-1@tracker.test>"]


def test_an_absurdly_long_message_id_is_hashed() -> None:
    raw = f"From: a@example.org\r\nMessage-ID: <{'ż' * 2000}@x>\r\n\r\nbody\r\n".encode()
    mail = parse_email(raw)
    assert mail.message_id.endswith("@long-message-id>") and len(mail.message_id) < 100
    assert parse_email(raw).message_id == mail.message_id  # stable, so still de-duplicated


@pytest.mark.parametrize(
    ("address", "valid"),
    [
        ("jan@example.org", True),
        ("jan.kowalski+help@mail.example.co.uk", True),
        ("jan@localhost", False),
        ("jan@.org", False),
        ("jan@example.", False),
        ("@example.org", False),
        ("jan@@example.org", False),
        ("jan@exa mple.org", False),
        ("<jan@example.org>", False),
        ("a@" + "a." * 50_000 + "@", False),  # took seconds with a backtracking pattern
        ("", False),
    ],
)
def test_what_counts_as_a_sender_address(address: str, valid: bool) -> None:
    assert is_address(address) is valid
