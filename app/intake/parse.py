"""Raw bytes → IncomingEmail, with the standard `email` package.

Real mail is messy: unknown charsets, broken encoded words, HTML only, parts that
lie about their encoding. Nothing here raises for such a message; every step falls
back to what can still be read (SPEC 4.3, step 2).
"""

from __future__ import annotations

import binascii
import email.policy
import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from email.feedparser import BytesFeedParser
from email.message import Message
from email.parser import BytesParser

from app.intake.charsets import decode_bytes, detection_budget, end_detection_budget
from app.intake.headers import (
    CONTROL,
    HEAD_MAX,
    clean,
    decode_raw,
    decode_words,
    find_sender,
    head_end,
    header_text,
    raw_headers,
    repair_head,
)
from app.intake.html_text import html_to_text
from app.intake.mime_trim import trimmed

_MSGID = re.compile(r"<([^<>\s]+)>")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass
class IncomingEmail:
    message_id: str  # normalised "<id>", or "<sha256 of raw>@no-message-id" when missing
    subject: str
    sender_email: str | None
    sender_name: str | None
    text: str
    attachments: list[str] = field(default_factory=list)
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case name → value
    content_language: str | None = None
    is_delivery_report: bool = False
    defects: list[str] = field(default_factory=list)
    text_cut: bool = False  # the message holds more text than was read

    @property
    def content_hash(self) -> str:
        """SHA-256 of subject + text: broken mailers reuse Message-IDs for other mail."""
        text = f"{self.subject}\n{self.text}"
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# Reply ids are read raw (no encoded words there), from the end of the header, where
# a References chain keeps its newest ids.
REFERENCES_MAX = 64 * 1024


def _reply_ids(headers: dict[str, list[str]], name: str) -> list[str]:
    values = headers.get(name)
    return _ids(values[0][-REFERENCES_MAX:]) if values else []


def _ids(value: str) -> list[str]:
    return [f"<{m}>" for m in _MSGID.findall(value)]


MESSAGE_ID_MAX = 250


def normalize_message_id(value: str) -> str | None:
    """The first `<id>`; an absurdly long one becomes its hash, since it is part of a
    unique index whose rows PostgreSQL limits to a few kilobytes."""
    ids = _ids(value)
    if ids:
        found = ids[0]
    else:
        bare = value.strip().strip("<>").strip()
        if not bare or " " in bare:
            return None
        found = f"<{bare}>"
    if len(found) > MESSAGE_ID_MAX:
        return f"<{hashlib.sha256(found.encode()).hexdigest()}@long-message-id>"
    return found


def parse_headers_only(raw: bytes | bytearray) -> IncomingEmail:
    """What the header block says (sender, subject, ids), for a message too large to
    read whole; the body is not looked at."""
    mail = parse_email(_head(raw) + b"\r\n")
    if mail.message_id.endswith("@no-message-id>"):
        mail.message_id = f"<{hashlib.sha256(raw).hexdigest()}@no-message-id>"
    mail.text = ""
    return mail


HEADER_BLOCK_MAX = HEAD_MAX


def _head(raw: bytes | bytearray) -> bytes:
    """The header block alone (its blank line left out), at most HEADER_BLOCK_MAX."""
    end = head_end(raw)
    return bytes(raw[: end if end >= 0 else HEADER_BLOCK_MAX])


def tidy(text: str) -> str:
    text = CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


# A ticket keeps 20,000 characters of text; more than that is read, so the caller cuts
# with its marker, but not megabytes: a text part is decoded from its first
# PART_BYTES_MAX bytes, an HTML one converted until TEXT_MAX_CHARS are out.
TEXT_MAX_CHARS = 50_000
PART_BYTES_MAX = 512 * 1024
# The attachments line names this many and counts the rest ("and 9,900 more").
ATTACHMENT_NAMES_MAX = 100


def _payload_bytes(part: Message) -> bytes | None:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        return None
    return payload if isinstance(payload, bytes) else None


def _charset(part: Message) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:
        return None


def _filename(part: Message, hint: str | None) -> str | None:
    """An attachment's name as a mail client shows it: RFC 2231 (`name*=`), encoded
    words and raw 8-bit names each read by the charset rule."""
    try:
        value = part.get_param("filename", None, "content-disposition")
        if value is None:
            value = part.get_param("name", None)
        if value is None:
            return None
        if isinstance(value, tuple):  # RFC 2231: (charset, language, percent-decoded)
            charset, _language, text = value
            name = decode_bytes(text.encode("latin-1", "surrogateescape"), charset)
        else:
            name = decode_raw(email.utils.unquote(value), hint)
    except Exception:
        return "(unnamed attachment)"
    return clean(decode_words(name)) or None


# A plain-text alternative that only points to the HTML one ("view this message in
# your browser", "this is an HTML message"): the HTML is read instead when it says more.
_STUB = re.compile(
    r"html|browser|web ?version|online version|przegl\u0105dar|wersj\w* (html|online)",
    re.IGNORECASE,
)
STUB_MAX_CHARS = 500
# MIME nesting read part by part; deeper than this the rest of the tree is read flat.
NESTING_MAX = 30
FORWARDED = "---------- Forwarded message ----------"
# Leaf parts that are no text of the message's own but are listed by type, not name.
_DEFAULT_NAMES = {"application/ms-tnef": "winmail.dat"}


# A text part is binary data (a PNG, an Outlook .msg labelled text/plain) when this
# share of its first bytes are control bytes (random bytes: 11%; text: none but a
# stray NUL); UTF-16 and -32 excepted.
BINARY_SNIFF = 4096
BINARY_CONTROL_SHARE = 0.05
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))


def is_binary(payload: bytes, charset: str | None) -> bool:
    if charset and charset.lower().replace("-", "").startswith(("utf16", "utf32")):
        return False
    sample = payload[:BINARY_SNIFF]
    if not sample:
        return False
    control = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return control > BINARY_CONTROL_SHARE * len(sample)


def _is_stub(text: str) -> bool:
    text = text.strip()
    return not text or (len(text) <= STUB_MAX_CHARS and _STUB.search(text) is not None)


@dataclass
class _Body:
    hint: str | None  # the message's charset, for 8-bit names
    texts: list[str] = field(default_factory=list)  # in the order a mail client shows
    attachments: list[str] = field(default_factory=list)
    unnamed_more: int = 0  # attachments past ATTACHMENT_NAMES_MAX
    length: int = 0
    cut: bool = False  # some text was left unread

    def attach(self, name: str) -> None:
        if len(self.attachments) < ATTACHMENT_NAMES_MAX:
            self.attachments.append(name)
        else:
            self.unnamed_more += 1

    def add_text(self, text: str) -> None:
        self.texts.append(text)
        self.length += len(text)

    def merge(self, other: _Body) -> None:
        """What `other` read (started at this body's length) taken in."""
        self.texts += other.texts
        for name in other.attachments:
            self.attach(name)
        self.unnamed_more += other.unnamed_more
        self.length = other.length
        self.cut |= other.cut

    def decoded(self, part: Message, payload: bytes | None) -> str:
        if payload is None:
            raw = part.get_payload()
            return raw[:PART_BYTES_MAX] if isinstance(raw, str) else ""
        whole = len(payload) <= PART_BYTES_MAX
        self.cut |= not whole
        return decode_bytes(payload[:PART_BYTES_MAX], _charset(part), complete=whole)

    def read_text(self, part: Message) -> str | None:
        """A text/plain or text/html part as text (HTML converted), within the budget;
        None if it is binary data in a text part's clothes."""
        if self.length > TEXT_MAX_CHARS:
            self.cut = True
            return ""
        payload = _payload_bytes(part)
        if payload is not None and is_binary(payload, _charset(part)):
            return None
        text = self.decoded(part, payload)
        if part.get_content_type() == "text/html":
            text, cut = html_to_text(text, max_chars=TEXT_MAX_CHARS - self.length)
            self.cut |= cut
        return text


def _is_container(part: Message) -> bool:
    """A part holding parts; a delivery report's status blocks are listed as one."""
    return part.is_multipart() and part.get_content_type() != "message/delivery-status"


def _subparts(part: Message) -> list[Message]:
    payload = part.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _is_body_text(part: Message) -> bool:
    """A text/plain or text/html part shown as the message's text, not as an attachment."""
    content_type = part.get_content_type()
    if content_type not in ("text/plain", "text/html"):
        return False
    return (part.get_content_disposition() or "").lower() != "attachment"


def _leaf(part: Message, body: _Body) -> None:
    name = _filename(part, body.hint)
    content_type = " ".join(part.get_content_type().split())
    if part.get_content_maintype() == "multipart":  # no usable boundary: its text
        unsplit = body.decoded(part, _payload_bytes(part))
        if unsplit.strip():
            body.add_text(unsplit)
        return
    if _is_body_text(part):
        text = body.read_text(part)
        if text is not None:
            if text.strip():
                body.add_text(text)
            return
        content_type = "application/octet-stream"  # binary in a text part
    body.attach(name or _DEFAULT_NAMES.get(content_type) or f"{content_type}, unnamed")


def _leaves(parts: list[Message], body: _Body, *, texts: bool) -> None:
    """The leaves under `parts`, in order and without recursion, each read by `_leaf`;
    with `texts=False` their text parts are left out."""
    stack = list(reversed(parts))
    while stack:
        current = stack.pop()
        if _is_container(current):
            stack.extend(reversed(_subparts(current)))
        elif texts or not _is_body_text(current):
            _leaf(current, body)


def _listed_only(part: Message, body: _Body) -> None:
    """The parts of an alternative not shown: what is not its text is still listed
    (an invitation's text/calendar, the HTML's inline images)."""
    _leaves([part], body, texts=False)


def _alternative(children: list[Message], body: _Body, depth: int) -> None:
    """The plain text, unless it is empty or only points to the HTML; then the
    richest alternative (the last, by RFC 2046) that holds text. Each alternative is
    read at most once (a trial that wins is kept, not read again: nested alternatives
    would double the work at each level)."""
    plain = next((c for c in children if c.get_content_type() == "text/plain"), None)
    chosen: Message | None = None
    kept: _Body | None = None
    plain_text = (body.read_text(plain) if plain is not None else "") or ""
    if plain is not None and not _is_stub(plain_text):
        chosen = plain
    else:
        for child in reversed(children):
            if child is plain:
                continue
            trial = _Body(body.hint, length=body.length)
            _render(child, trial, depth + 1)
            text = "\n\n".join(trial.texts).strip()
            if text and len(text) > len(plain_text.strip()):
                chosen, kept = child, trial
                break
        chosen = chosen or plain
    for child in children:
        if child is not chosen:
            _listed_only(child, body)
        elif kept is not None:
            body.merge(kept)
        elif child is plain and plain_text and _is_body_text(plain):  # read already
            body.add_text(plain_text)
        else:
            _render(child, body, depth + 1)


def _forwarded(part: Message, body: _Body, depth: int) -> None:
    """A forwarded message (message/rfc822), shown as a mail client shows it: its own
    From, Date, Subject and To, then its text; its attachments listed with the rest."""
    inner = _forwarded_message(part)
    if inner is None:
        body.attach(_filename(part, body.hint) or "message/rfc822, unnamed")
        return
    headers = raw_headers(inner)
    hint = _hint(inner) or body.hint
    lines = [FORWARDED]
    for label in ("From", "Date", "Subject", "To"):
        value = header_text(headers.get(label.lower()), hint)
        if value:
            lines.append(f"{label}: {value}")
    start = len(body.texts)
    _render(inner, body, depth + 1)
    inner_text = "\n\n".join(body.texts[start:])
    del body.texts[start:]
    body.add_text("\n".join(lines) + ("\n\n" + inner_text if inner_text else ""))


def _forwarded_message(part: Message) -> Message | None:
    """The message inside a message/rfc822 part; one sent in base64 or
    quoted-printable (against RFC 2046, but mailers do) decoded and read first."""
    inner = next(iter(_subparts(part)), None)
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if inner is None or encoding not in ("base64", "quoted-printable"):
        return inner
    try:
        encoded = inner.as_bytes(policy=_POLICY)
        if encoding == "base64":
            data = binascii.a2b_base64(encoded)
        else:
            data = binascii.a2b_qp(encoded)
        return _read(data)[0]
    except Exception:
        return None


def _render(part: Message, body: _Body, depth: int = 0) -> None:
    """A MIME (sub)tree's text, in the order a mail client shows it, and its other
    parts' names."""
    content_type = part.get_content_type()
    if content_type in ("message/rfc822", "message/global") and depth < NESTING_MAX:
        _forwarded(part, body, depth)
        return
    if not _is_container(part):
        _leaf(part, body)
        return
    children = _subparts(part)
    if depth >= NESTING_MAX:  # read flat, leaf by leaf
        _leaves(children, body, texts=True)
    elif content_type == "multipart/alternative" and len(children) > 1:
        _alternative(children, body, depth)
    elif content_type == "multipart/related" and children:
        root = _related_root(part, children)
        for child in children:
            if child is root:
                _render(child, body, depth + 1)
            else:
                _listed_only(child, body)
    else:
        for child in children:
            _render(child, body, depth + 1)


def _related_root(part: Message, children: list[Message]) -> Message:
    start = str(part.get_param("start", "") or "").strip()
    if start:
        for child in children:
            if str(child.get("Content-ID", "")).strip() == start:
                return child
    return children[0]


def _hint(message: Message) -> str | None:
    """The message's own charset (its first text part's), which 8-bit headers are
    most likely written in too."""
    stack, seen = [message], 0
    while stack and seen < 20:
        part = stack.pop()
        seen += 1
        if part.is_multipart():
            stack.extend(reversed(_subparts(part)))
            continue
        charset = _charset(part)
        if charset:
            return charset
    return None


def _body_and_attachments(
    message: Message, hint: str | None, unread_parts: int
) -> tuple[str, list[str], bool]:
    """The text, the attachments' names (the parts left unread counted with the
    unnamed rest), and whether the text was cut short."""
    body = _Body(hint, unnamed_more=unread_parts, cut=unread_parts > 0)
    _render(message, body)
    attachments = body.attachments
    if body.unnamed_more:
        attachments.append(f"and {body.unnamed_more:,} more")
    return tidy("\n\n".join(body.texts)), attachments, body.cut


_FEED_BYTES = 64 * 1024


class _RawHeaders(email.policy.Compat32):
    """compat32, but a header value comes back as it came, its 8-bit bytes kept (as
    surrogates) for `headers.decode_raw` to read by the charset rule; compat32 itself
    turns them into U+FFFD, filenames and parameters included."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


_POLICY = _RawHeaders()


def _read(raw: bytes | bytearray) -> tuple[Message, int]:
    """The message tree, read with the `compat32` policy: headers stay raw text until
    asked for (the `default` policy parsed every header of every part, 8 s for a
    10,000-part message), and the bytes are fed in slices, never copied whole into one
    string (`message_from_bytes` held three copies of a 25 MB message). A broken header
    block is repaired first (`headers.repair_head`), and a large message is fed trimmed
    to what is read of it (`mime_trim`), its many small pieces joined into slices (the
    parser's cost is per feed: 21,000 pieces of a nested message took 140 ms). Also
    how many parts were left unread past `mime_trim.PARTS_MAX`."""
    parser = BytesFeedParser(policy=_POLICY)
    pending = bytearray()
    pieces, unread_parts = trimmed(repair_head(raw))
    for piece in pieces:
        if len(piece) < _FEED_BYTES:
            pending += piece
            if len(pending) >= _FEED_BYTES:
                parser.feed(bytes(pending))
                pending.clear()
            continue
        if pending:
            parser.feed(bytes(pending))
            pending.clear()
        view = memoryview(piece)
        for start in range(0, len(piece), _FEED_BYTES):
            parser.feed(bytes(view[start : start + _FEED_BYTES]))
    if pending:
        parser.feed(bytes(pending))
    return parser.close(), unread_parts


_FLAGS = (
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "precedence",
    "list-id",
    "list-unsubscribe",
    "return-path",
    "content-type",
    "x-failed-recipients",
)


def parse_email(raw: bytes | bytearray) -> IncomingEmail:
    """Read what can be read of a message. Never raises for malformed mail."""
    budget = detection_budget()
    try:
        try:
            message, unread_parts = _read(raw)
            defects = []
        except Exception as exc:
            # The standard library's parser gave up on the structure (thousands of
            # nested messages: RecursionError; an 8-bit RFC 2231 boundary): the
            # header block alone is read.
            message, unread_parts = _read_head_only(raw), 0
            defects = [f"structure unreadable: {type(exc).__name__}"]
        return _parsed(raw, message, unread_parts, defects)
    finally:
        end_detection_budget(budget)


def _read_head_only(raw: bytes | bytearray) -> Message:
    return BytesParser(policy=_POLICY).parsebytes(_head(raw), headersonly=True)


def _parsed(
    raw: bytes | bytearray, message: Message, unread_parts: int, defects: list[str]
) -> IncomingEmail:
    headers = raw_headers(message)
    hint = _hint(message)
    subject = header_text(headers.get("subject"), hint)
    sender, name = find_sender(headers, hint)
    message_id = normalize_message_id(header_text(headers.get("message-id"), None))
    if message_id is None:
        message_id = f"<{hashlib.sha256(raw).hexdigest()}@no-message-id>"
    try:
        text, attachments, text_cut = _body_and_attachments(message, hint, unread_parts)
    except Exception as exc:
        text, attachments, text_cut = "", [], False
        defects = [*defects, f"body unreadable: {type(exc).__name__}"]
    flags = {key: header_text(headers[key], hint) for key in _FLAGS if key in headers}
    report_type = ""
    try:
        report_type = str(message.get_param("report-type", "") or "")
    except Exception:
        report_type = ""
    language = header_text(headers.get("content-language"), None).split(",")[0].strip()
    return IncomingEmail(
        message_id=message_id,
        subject=subject,
        sender_email=sender,
        sender_name=name,
        text=text,
        attachments=attachments,
        in_reply_to=_reply_ids(headers, "in-reply-to"),
        references=_reply_ids(headers, "references"),
        headers=flags,
        content_language=language or None,
        is_delivery_report=message.get_content_type() == "multipart/report"
        and report_type.lower() == "delivery-status",
        defects=defects + [type(d).__name__ for d in getattr(message, "defects", [])],
        text_cut=text_cut,
    )
