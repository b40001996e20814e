"""How well the parser reads real mail: the shared corpus through parse + classify.

    .venv/bin/python -m bench.fidelity [corpus folder]

Prints, per corpus and in total, how many messages

- raised: parse_email or classify raised (never acceptable);
- no sender: no sender address came out though the message names one a reply can
  go to (a `From:`, `Sender:`, `Reply-To:` or `Return-Path:` holding an address
  with a dotted domain; `root@localhost` is none);
- no subject: the subject came out empty though the `Subject:` header has text;
- no body: the description came out empty though a text part of the message holds
  letters or digits;
- U+FFFD: the sender's name, the subject or the body holds the replacement character;
- mojibake: they hold UTF-8 read as a single-byte charset (`Ã©`, `Ä…`, `â€™`);
- unlisted parts: the message has more non-text parts (attachments, inline images,
  delivery reports; a forwarded message's own included) than the attachment line
  names.

What counts as "the message has it" is read with the standard library alone, not with
the parser under test. The output is a Markdown table (kept in docs/email.md); the
messages behind each non-zero count are listed under it.
"""

from __future__ import annotations

import email
import email.policy
import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

from app.intake.classify import classify
from app.intake.ingest import ticket_description
from app.intake.parse import IncomingEmail, parse_email

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "mail"
NOT_MAIL = {"PROVENANCE.md", ".gitattributes"}
CHECKS = ("raised", "no sender", "no subject", "no body", "U+FFFD", "mojibake", "unlisted parts")
# UTF-8 read as windows-1252 / latin-1: a lead byte's character followed by a
# continuation byte's (Ã© é, Ä… ą, Å‚ ł, â€™ ’, Ð° а).
MOJIBAKE = re.compile(r"[ÂÃÄÅÆÇÐÑØÙâ][\u0080-\u00bf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]")
# An address a reply can go to (`root@localhost` cannot).
_ANSWERABLE = re.compile(r"[^\s<>@\"]+@[^\s<>@\"]+\.[a-z]{2,}", re.IGNORECASE)
_BINARY = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))
_LETTER = re.compile(r"\w", re.UNICODE)
_TAG = re.compile(r"<[^>]*>|&[a-z#0-9]+;", re.IGNORECASE)
_STYLE = re.compile(r"<(style|script|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


@dataclass
class Tally:
    messages: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, check: str, name: str) -> None:
        self.counts[check] += 1
        self.examples.setdefault(check, []).append(name)


def _leaves(message: Message) -> Iterable[Message]:
    stack = [message]
    while stack:
        part = stack.pop()
        # A forwarded message/rfc822's parts count; a delivery report's blocks are one.
        if part.is_multipart() and part.get_content_type() != "message/delivery-status":
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend(reversed([p for p in payload if isinstance(p, Message)]))
            continue
        yield part


def _has_text(part: Message) -> bool:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        return False
    if not isinstance(payload, bytes):
        return False
    if len(payload) - len(payload.translate(None, _BINARY)) > len(payload) // 20:
        return False  # binary data (a PNG) in a text part: no text
    text = payload.decode("latin-1")
    if part.get_content_type() == "text/html":
        text = _TAG.sub(" ", _STYLE.sub(" ", text))
    return bool(_LETTER.search(text))


def _header_text(message: Message, name: str) -> str:
    values = message.get_all(name) or []
    return " ".join(str(v) for v in values)


def expected(raw: bytes) -> tuple[bool, bool, bool, int]:
    """(names a sender, has a subject, has body text, non-text parts) by the standard
    library alone."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    sender = any(
        _ANSWERABLE.search(_header_text(message, h))
        for h in ("From", "Sender", "Reply-To", "Return-Path")
    )
    subject = bool(_LETTER.search(_header_text(message, "Subject")))
    body, others = False, 0
    for part in _leaves(message):
        content_type = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        if content_type in ("text/plain", "text/html") and disposition != "attachment":
            body = body or _has_text(part)
        elif part.get_content_maintype() == "multipart":  # no usable boundary: text
            body = body or _has_text(part)
        else:
            others += 1
    return sender, subject, body, others


def check(raw: bytes, name: str, tally: Tally) -> IncomingEmail | None:
    tally.messages += 1
    try:
        mail = parse_email(raw)
        classify(mail)
    except Exception as exc:
        tally.add("raised", f"{name} ({type(exc).__name__})")
        return None
    has_sender, has_subject, has_body, others = expected(raw)
    if has_sender and not mail.sender_email:
        tally.add("no sender", name)
    if has_subject and not mail.subject:
        tally.add("no subject", name)
    if has_body and not mail.text.strip():
        tally.add("no body", name)
    shown = "\n".join((mail.sender_name or "", mail.subject, ticket_description(mail)))
    if "\ufffd" in shown:
        tally.add("U+FFFD", name)
    if MOJIBAKE.search(shown):
        tally.add("mojibake", name)
    if len(mail.attachments) < others and not any(a.startswith("and ") for a in mail.attachments):
        tally.add("unlisted parts", f"{name} ({len(mail.attachments)} of {others})")
    return mail


def run(root: Path) -> dict[str, Tally]:
    tallies: dict[str, Tally] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        tally = tallies.setdefault(folder.name, Tally())
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.name not in NOT_MAIL:
                check(path.read_bytes(), f"{folder.name}/{path.relative_to(folder)}", tally)
    return tallies


def report(tallies: dict[str, Tally]) -> str:
    total = Tally()
    lines = [
        "| corpus | messages | " + " | ".join(CHECKS) + " |",
        "| --- | ---: | " + " | ".join("---:" for _ in CHECKS) + " |",
    ]
    for corpus, tally in tallies.items():
        total.messages += tally.messages
        total.counts.update(tally.counts)
        for check_name, names in tally.examples.items():
            total.examples.setdefault(check_name, []).extend(names)
        cells = " | ".join(str(tally.counts[c]) for c in CHECKS)
        lines.append(f"| {corpus} | {tally.messages} | {cells} |")
    cells = " | ".join(f"**{total.counts[c]}**" for c in CHECKS)
    lines.append(f"| **total** | **{total.messages}** | {cells} |")
    for check_name in CHECKS:
        listed = total.examples.get(check_name)
        if listed:
            lines.append("")
            lines.append(f"{check_name}: " + ", ".join(f"`{n}`" for n in listed))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else CORPUS
    if not root.is_dir():
        print(f"no corpus at {root}: the shared corpus sits beside the checkout", file=sys.stderr)
        return 2
    tallies = run(root)
    print(report(tallies))
    return 1 if any(t.counts["raised"] for t in tallies.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
