"""Raw bytes → IncomingEmail, with the standard `email` package.

Real mail is messy: unknown charsets, broken encoded words, HTML only, parts that
lie about their encoding. Nothing here raises for such a message; every step falls
back to what can still be read (SPEC 4.3, step 2).
"""

from __future__ import annotations

import codecs
import email.policy
import hashlib
import re
from contextlib import suppress
from dataclasses import dataclass, field
from email.feedparser import BytesFeedParser
from email.message import Message
from email.utils import getaddresses, parseaddr

from app.intake.html_text import html_to_text
from app.intake.mime_trim import trimmed

_MSGID = re.compile(r"<([^<>\s]+)>")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n{3,}")
# Control characters PostgreSQL cannot store (NUL) or nobody should see, and lone
# surrogates (UTF-7 and broken UTF-16 decode to them; no encoder takes them); tab and
# newline stay.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


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


# Headers are decoded (encoded words, folding) by the `default` policy, one at a time,
# only those asked for. Its parser is slow on long values (a 100 KB `From:` of `a,a,…`
# took 12 s, and grows faster than the length), so a value is cut to
# HEADER_DECODE_MAX characters first: far more than any real sender or subject, and
# a bound of a fraction of a second per header.
_DECODE = email.policy.default
HEADER_DECODE_MAX = 4096
# Reply ids are read raw (no encoded words there), from the end of the header, where
# a References chain keeps its newest ids.
REFERENCES_MAX = 64 * 1024


def _raw_header(message: Message, name: str) -> str:
    value = message.get(name)
    return "" if value is None else str(value)


def _header(message: Message, name: str) -> str:
    """A header as text; broken encodings give what can be read, never an exception."""
    text = _raw_header(message, name)[:HEADER_DECODE_MAX]
    with suppress(Exception):  # a header the decoder cannot represent stays raw
        text = str(_DECODE.header_fetch_parse(name, text))
    return " ".join(_CONTROL.sub("", text).split())


def _reply_ids(message: Message, name: str) -> list[str]:
    return _ids(_raw_header(message, name)[-REFERENCES_MAX:])


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


_NOT_IN_ADDRESS = re.compile(r"[@\s<>]")


def is_address(address: str) -> bool:
    """`local@domain.tld` with one `@`, no spaces or brackets, a dot inside the domain.

    Checked in linear time: a regular expression that backtracks over the dots took
    seconds on a long hostile `From:`.
    """
    local, at, domain = address.partition("@")
    return bool(
        at
        and local
        and "." in domain[1:-1]
        and not _NOT_IN_ADDRESS.search(local)
        and not _NOT_IN_ADDRESS.search(domain)
    )


def parse_headers_only(raw: bytes | bytearray) -> IncomingEmail:
    """What the header block says (sender, subject, ids), for a message too large to
    read whole; the body is not looked at."""
    end = raw.find(b"\r\n\r\n", 0, HEADER_BLOCK_MAX)
    if end < 0:
        end = raw.find(b"\n\n", 0, HEADER_BLOCK_MAX)
    head = raw[: end if end >= 0 else HEADER_BLOCK_MAX]
    mail = parse_email(head + b"\r\n\r\n")
    if mail.message_id.endswith("@no-message-id>"):
        mail.message_id = f"<{hashlib.sha256(raw).hexdigest()}@no-message-id>"
    mail.text = ""
    return mail


HEADER_BLOCK_MAX = 256 * 1024


def decode_bytes(payload: bytes, charset: str | None, *, complete: bool = True) -> str:
    """Bytes in a declared charset; unknown or wrong charsets fall back, never crash.

    With `complete=False` the bytes were cut short: a character broken at the end is
    dropped rather than counted as an error.
    """
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            info = codecs.lookup(candidate)
        except LookupError:
            continue
        if not getattr(info, "_is_text_encoding", True):  # "base64", "rot13": not charsets
            continue
        try:
            return info.incrementaldecoder().decode(payload, final=complete)
        except (UnicodeDecodeError, ValueError):
            continue
    # Mostly UTF-8 with a few broken bytes reads best as UTF-8; anything else is most
    # likely a Western single-byte encoding.
    text = payload.decode("utf-8", errors="replace")
    if text.count("\ufffd") <= max(2, len(text) // 50):
        return text
    return payload.decode("cp1252", errors="replace")


def tidy(text: str) -> str:
    text = _CONTROL.sub("", text)
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


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return "(unnamed attachment)"
    if not name:
        return None
    decoded = str(name)
    with suppress(Exception):  # an encoded word (=?utf-8?q?...?=) in the name
        decoded = str(_DECODE.header_factory("x-filename", decoded))
    return " ".join(_CONTROL.sub("", decoded).split())


@dataclass
class _Body:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    unnamed_more: int = 0  # attachments past ATTACHMENT_NAMES_MAX
    cut: bool = False  # some text was left unread

    def attach(self, name: str) -> None:
        if len(self.attachments) < ATTACHMENT_NAMES_MAX:
            self.attachments.append(name)
        else:
            self.unnamed_more += 1

    def text_of(self, part: Message) -> str:
        payload = _payload_bytes(part)
        if payload is None:
            raw = part.get_payload()
            return raw[:PART_BYTES_MAX] if isinstance(raw, str) else ""
        whole = len(payload) <= PART_BYTES_MAX
        self.cut |= not whole
        return decode_bytes(payload[:PART_BYTES_MAX], _charset(part), complete=whole)


def _collect(message: Message) -> _Body:
    """Walk the MIME tree (iteratively: nesting depth costs nothing) into text parts and
    attachment names."""
    body = _Body()
    stack = [message]
    while stack:
        part = stack.pop()
        content_type = part.get_content_type()
        if content_type == "message/rfc822":  # a forwarded message is an attachment
            body.attach(_filename(part) or "(attached message)")
            continue
        if part.is_multipart():
            payload = part.get_payload()
            subparts = (
                [sub for sub in payload if isinstance(sub, Message)]
                if isinstance(payload, list)
                else []
            )
            stack.extend(reversed(subparts))
            continue
        name = _filename(part)
        disposition = (part.get_content_disposition() or "").lower()
        if disposition == "attachment" or (
            name and content_type not in ("text/plain", "text/html")
        ):
            body.attach(name or f"(unnamed {content_type})")
        elif content_type == "text/plain":
            body.plain.append(body.text_of(part))
        elif content_type == "text/html":
            body.html.append(body.text_of(part))
    return body


def _body_and_attachments(message: Message) -> tuple[str, list[str], bool]:
    """The text (plain parts, else HTML turned into text), the attachments' names, and
    whether the text was cut short."""
    body = _collect(message)
    attachments = body.attachments
    if body.unnamed_more:
        attachments.append(f"and {body.unnamed_more:,} more")
    if any(p.strip() for p in body.plain):
        return tidy("\n\n".join(body.plain)), attachments, body.cut
    if body.html:
        text, cut = html_to_text("\n".join(body.html), max_chars=TEXT_MAX_CHARS)
        return tidy(text), attachments, body.cut or cut
    return "", attachments, body.cut


_FEED_BYTES = 64 * 1024


def _read(raw: bytes | bytearray) -> Message:
    """The message tree, read with the `compat32` policy: headers stay raw text until
    asked for (the `default` policy parsed every header of every part, 8 s for a
    10,000-part message), and the bytes are fed in slices, never copied whole into one
    string (`message_from_bytes` held three copies of a 25 MB message). A large message
    is fed trimmed to what is read of it (`mime_trim`)."""
    parser = BytesFeedParser(policy=email.policy.compat32)
    for piece in trimmed(raw):
        view = memoryview(piece)
        for start in range(0, len(piece), _FEED_BYTES):
            parser.feed(bytes(view[start : start + _FEED_BYTES]))
    return parser.close()


def parse_email(raw: bytes | bytearray) -> IncomingEmail:
    """Read what can be read of a message. Never raises for malformed mail."""
    message = _read(raw)
    subject = _header(message, "Subject")
    name, address = "", ""
    from_value = _header(message, "From")
    try:
        name, address = parseaddr(from_value)
        if not address:
            pairs = getaddresses([from_value])
            name, address = pairs[0] if pairs else ("", "")
    except Exception:
        name, address = "", ""
    address = address.strip()
    sender = address if is_address(address) else None

    message_id = normalize_message_id(_header(message, "Message-ID"))
    if message_id is None:
        message_id = f"<{hashlib.sha256(raw).hexdigest()}@no-message-id>"
    try:
        text, attachments, text_cut = _body_and_attachments(message)
    except Exception as exc:
        text, attachments, text_cut = "", [], False
        defects = [f"body unreadable: {type(exc).__name__}"]
    else:
        defects = []
    headers = {
        key: _header(message, key)
        for key in (
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
        if message.get(key) is not None
    }
    content_type = message.get_content_type()
    report_type = ""
    try:
        report_type = str(message.get_param("report-type", "") or "")
    except Exception:
        report_type = ""
    language = _header(message, "Content-Language").split(",")[0].strip() or None
    return IncomingEmail(
        message_id=message_id,
        subject=subject,
        sender_email=sender,
        sender_name=" ".join(name.split()) or None,
        text=text,
        attachments=attachments,
        in_reply_to=_reply_ids(message, "In-Reply-To"),
        references=_reply_ids(message, "References"),
        headers=headers,
        content_language=language,
        is_delivery_report=content_type == "multipart/report"
        and report_type.lower() == "delivery-status",
        defects=defects + [type(d).__name__ for d in getattr(message, "defects", [])],
        text_cut=text_cut,
    )
