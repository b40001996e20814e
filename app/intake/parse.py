"""Raw bytes → IncomingEmail, with the standard `email` package (policy `default`).

Real mail is messy: unknown charsets, broken encoded words, HTML only, parts that
lie about their encoding. Nothing here raises for such a message; every step falls
back to what can still be read (SPEC 4.3, step 2).
"""

from __future__ import annotations

import codecs
import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from email.message import Message
from email.utils import getaddresses, parseaddr

from bs4 import BeautifulSoup

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

    @property
    def content_hash(self) -> str:
        """SHA-256 of subject + text: broken mailers reuse Message-IDs for other mail."""
        text = f"{self.subject}\n{self.text}"
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _header(message: Message, name: str) -> str:
    """A header as text; broken encodings give what can be read, never an exception."""
    try:
        value = message.get(name)
    except Exception:  # a header the parser cannot even represent
        raw = dict(message.raw_items()).get(name) if hasattr(message, "raw_items") else None
        value = raw
    if value is None:
        return ""
    try:
        text = str(value)
    except Exception:
        text = repr(value)
    return " ".join(_CONTROL.sub("", text).split())


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


def parse_headers_only(raw: bytes) -> IncomingEmail:
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


def decode_bytes(payload: bytes, charset: str | None) -> str:
    """Bytes in a declared charset; unknown or wrong charsets fall back, never crash."""
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            codecs.lookup(candidate)
        except LookupError:
            continue
        try:
            return payload.decode(candidate)
        except (UnicodeDecodeError, ValueError):
            continue
    # Mostly UTF-8 with a few broken bytes reads best as UTF-8; anything else is most
    # likely a Western single-byte encoding.
    text = payload.decode("utf-8", errors="replace")
    if text.count("\ufffd") <= max(2, len(text) // 50):
        return text
    return payload.decode("cp1252", errors="replace")


def html_to_text(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "head", "title"]):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    text = soup.get_text("\n")
    return tidy(text)


def tidy(text: str) -> str:
    text = _CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _part_text(part: Message) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if isinstance(payload, bytes):
        try:
            charset = part.get_content_charset()
        except Exception:
            charset = None
        return decode_bytes(payload, charset)
    raw = part.get_payload()
    return raw if isinstance(raw, str) else ""


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return "(unnamed attachment)"
    return " ".join(_CONTROL.sub("", str(name)).split()) if name else None


def _collect(part: Message, plain: list[str], html: list[str], attachments: list[str]) -> None:
    content_type = part.get_content_type()
    name = _filename(part)
    if content_type == "message/rfc822":  # a forwarded message is an attachment
        attachments.append(name or "(attached message)")
        return
    if part.is_multipart():
        payload = part.get_payload()
        for sub in payload if isinstance(payload, list) else []:
            if isinstance(sub, Message):
                _collect(sub, plain, html, attachments)
        return
    disposition = (part.get_content_disposition() or "").lower()
    if disposition == "attachment" or (name and content_type not in ("text/plain", "text/html")):
        attachments.append(name or f"(unnamed {content_type})")
    elif content_type == "text/plain":
        plain.append(_part_text(part))
    elif content_type == "text/html":
        html.append(_part_text(part))


def _body_and_attachments(message: Message) -> tuple[str, list[str]]:
    """The text (plain parts, else HTML turned into text) and the attachments' names."""
    plain: list[str] = []
    html: list[str] = []
    attachments: list[str] = []
    _collect(message, plain, html, attachments)
    if any(p.strip() for p in plain):
        return tidy("\n\n".join(plain)), attachments
    if html:
        return html_to_text("\n".join(html)), attachments
    return "", attachments


def parse_email(raw: bytes) -> IncomingEmail:
    """Read what can be read of a message. Never raises for malformed mail."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
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
        text, attachments = _body_and_attachments(message)
    except Exception as exc:
        text, attachments = "", []
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
        in_reply_to=_ids(_header(message, "In-Reply-To")),
        references=_ids(_header(message, "References")),
        headers=headers,
        content_language=language,
        is_delivery_report=content_type == "multipart/report"
        and report_type.lower() == "delivery-status",
        defects=defects + [type(d).__name__ for d in getattr(message, "defects", [])],
    )
