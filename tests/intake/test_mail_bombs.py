"""Mail bombs: what the parser makes of each, within a deadline (a hang guard, not a
speed target: bench/ measures speed). tests/workers/test_mail_bombs.py sends the same
messages through a real worker and Dovecot and bounds its memory."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from app.intake.ingest import CUT_MARKER, ticket_description
from app.intake.parse import ATTACHMENT_NAMES_MAX, IncomingEmail, parse_email
from tests.intake import bombs

DEADLINE_SECONDS = 30


def parse_within_deadline(raw: bytes) -> IncomingEmail:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(parse_email, raw).result(timeout=DEADLINE_SECONDS)


@pytest.fixture(scope="module")
def parsed() -> dict[str, IncomingEmail]:
    return {name: parse_within_deadline(build()) for name, build in bombs.BOMBS.items()}


def test_a_25_mb_message_keeps_its_first_text_and_says_it_was_cut(
    parsed: dict[str, IncomingEmail],
) -> None:
    mail = parsed["large"]
    assert mail.sender_email == "bomb-large@example.org" and mail.subject == "printer bomb"
    assert mail.text.startswith("the printer says paper jam again")
    assert mail.text_cut and mail.attachments == ["dump.bin"]
    description = ticket_description(mail)
    assert len(description) <= 20_000
    assert CUT_MARKER in description
    assert description.endswith("Attachments (not stored): dump.bin")


def test_a_100_level_multipart_is_read_to_the_bottom(parsed: dict[str, IncomingEmail]) -> None:
    assert parsed["nested"].text == "the deepest printer"


def test_ten_thousand_parts_name_a_hundred_and_count_the_rest(
    parsed: dict[str, IncomingEmail],
) -> None:
    mail = parsed["many"]
    assert mail.text == "see the screenshots"
    assert len(mail.attachments) == ATTACHMENT_NAMES_MAX + 1
    assert mail.attachments[:2] == ["shot-0.png", "shot-1.png"]
    assert mail.attachments[-1] == "and 9,900 more"
    assert len(ticket_description(mail)) <= 20_000


def test_five_megabyte_header_lines_still_give_sender_and_subject(
    parsed: dict[str, IncomingEmail],
) -> None:
    mail = parsed["long"]
    assert mail.sender_email == "bomb-long@example.org"
    assert mail.sender_name == "Bomber"
    assert mail.subject == "printer bomb"
    assert mail.text == "the printer is fine"


def test_an_html_bomb_gives_its_first_text(parsed: dict[str, IncomingEmail]) -> None:
    mail = parsed["html"]
    assert mail.text.startswith("printer on fire")
    assert mail.text_cut
    assert ticket_description(mail).endswith(CUT_MARKER)


def test_a_long_address_list_is_decoded_quickly_enough_to_matter() -> None:
    """The header parser grew faster than the length: a 100 KB `From:` of `a,a,…` took
    12 s. Only HEADER_DECODE_MAX characters are decoded."""
    raw = b"From: " + b"a," * 2_500_000 + b"\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n\r\nbody\r\n"
    mail = parse_within_deadline(raw)
    assert mail.sender_email is None and mail.subject == "café"


def test_the_newest_references_survive_a_long_chain() -> None:
    chain = " ".join(f"<old-{n}@example.org>" for n in range(20_000))
    raw = (
        f"From: a@example.org\r\nSubject: Re: x\r\nReferences: {chain} <newest@example.org>\r\n"
        "\r\nbody\r\n"
    ).encode()
    assert parse_within_deadline(raw).references[-1] == "<newest@example.org>"
