"""Header fields of real mail: encoded words, raw 8-bit text, broken header blocks, and
the sender wherever a mail client would still find one.

The standard library reads the header block (compat32: values stay raw until asked
for); what it gets wrong on hostile mail is fixed here: a badly folded line that ends
the header block early (the rest of the headers then read as body), 8-bit text with
no encoded words (GBK, Shift_JIS), encoded words in a charset that lies, and senders
written in the ways mail clients accept but the grammar does not.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterator
from email.message import Message
from email.utils import getaddresses

from app.intake.charsets import decode_bytes

# Control characters PostgreSQL cannot store (NUL) or nobody should see, and lone
# surrogates (broken UTF-16 decodes to them; no encoder takes them); tab and newline
# stay. Filtered only after decoding: ISO-2022-JP's escape bytes are text.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# A header value is read up to this many characters: far more than any real sender or
# subject, and (with SENDER_VALUES_MAX and the linear address scan) a bound on the
# work a hostile one (a 100 KB `From:`) can cause.
HEADER_DECODE_MAX = 16 * 1024

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_SURROGATE = re.compile(r"[\udc80-\udcff]")


def raw_headers(message: Message) -> dict[str, list[str]]:
    """Every header of `message` as it came (lower-case name → values in order)."""
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        headers.setdefault(name.lower(), []).append(str(value))
    return headers


def decode_raw(value: str, hint: str | None) -> str:
    """A raw header value's 8-bit bytes (kept by the parser as surrogates) and
    stateful 7-bit text (ISO-2022-JP's escapes) as text, by the charset rule
    (`charsets.decode_bytes`), `hint` being the message's own charset."""
    if _SURROGATE.search(value) or "\x1b" in value:
        return decode_bytes(value.encode("ascii", "surrogateescape"), hint)
    return value


def _word_bytes(encoding: str, data: str) -> bytes | None:
    try:
        if encoding in "bB":
            packed = "".join(data.split())
            packed += "=" * (-len(packed) % 4)
            return binascii.a2b_base64(packed)
        return binascii.a2b_qp(data.encode("utf-8", "surrogateescape"), header=True)
    except (binascii.Error, ValueError):
        return None


def decode_words(text: str) -> str:
    """RFC 2047 encoded words decoded, each by the charset rule; the white space
    between two of them dropped, and the bytes of neighbours in one charset joined
    first (mailers split a multi-byte character across two words)."""
    if "=?" not in text:
        return text
    out: list[str] = []
    pending: list[tuple[str, bytes]] = []

    def flush() -> None:
        out.extend(decode_bytes(data, charset) for charset, data in pending)
        pending.clear()

    position = 0
    for match in _ENCODED_WORD.finditer(text):
        between = text[position : match.start()]
        if not (pending and not between.strip()):
            flush()
            out.append(between)
        charset = match.group(1).split("*")[0]  # RFC 2231 language: utf-8*en
        data = _word_bytes(match.group(2), match.group(3))
        if data is None:
            flush()
            out.append(match.group(0))
        elif pending and pending[-1][0].lower() == charset.lower():
            pending[-1] = (charset, pending[-1][1] + data)
        else:
            pending.append((charset, data))
        position = match.end()
    flush()
    out.append(text[position:])
    return "".join(out)


def clean(text: str) -> str:
    """One line of text: control characters out, runs of white space one space."""
    return " ".join(CONTROL.sub("", text).split())


def header_text(values: list[str] | None, hint: str | None) -> str:
    """The first value of a header as one line of text, never an exception."""
    if not values:
        return ""
    return clean(decode_words(decode_raw(values[0][:HEADER_DECODE_MAX], hint)))


# --- the sender ------------------------------------------------------------------------

# Where a sender can be found, in this order (docs/email.md, "Sender").
SENDER_HEADERS = ("from", "sender", "reply-to", "return-path")
_NOT_IN_ADDRESS = re.compile(r"[@\s<>]")
# A match starts only where a token starts: without the look-behind a long run of
# letters with no `@` was scanned from each of its positions (quadratic).
_ADDRESS_LIKE = re.compile(r"(?<![^\s<>()\[\]\",;:@])[^\s<>()\[\]\",;:@]+@[^\s<>()\[\]\",;:@]+")
# Of each sender header, this many values are looked at (a hostile message repeats
# `From:` a hundred thousand times).
SENDER_VALUES_MAX = 10


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


def _near_miss(address: str) -> str:
    """What a mail client still shows as the address: `<a@b.c>`, `mailto:a@b.c`,
    `a@b.c.` (a trailing dot, the DNS root) all read as `a@b.c`."""
    address = address.strip().strip("<>\"' ").strip()
    if address.lower().startswith("mailto:"):
        address = address[7:]
    return address.rstrip(".,;").strip()


def _entries(value: str) -> Iterator[tuple[str, str]]:
    """(name, address) pairs of an address list, in order; then anything that looks
    like an address, should the list not parse at all. An address the list parser
    glued together from words (`a@b.c Jan Kowalski` → `a@b.cJanKowalski`) is not in
    the value as written, and is skipped."""
    try:
        pairs = getaddresses([value])
    except Exception:
        pairs = []
    squeezed = "".join(value.split())
    for name, address in pairs:
        if address in value or address not in squeezed:
            yield name, address
    for found in _ADDRESS_LIKE.findall(value):
        yield "", found


def _name(display: str, address: str) -> str | None:
    name = clean(decode_words(display)).strip("\"' ").strip()
    if not name or name.lower() == address.lower():
        return None
    return name


def find_sender(headers: dict[str, list[str]], hint: str | None) -> tuple[str | None, str | None]:
    """(address, display name) of the first usable entry of the first header that
    has one, through every `From:` (a junk first one, an empty or group first entry),
    then `Sender:`, `Reply-To:` and `Return-Path:`. (None, None) if none has one."""
    for header in SENDER_HEADERS:
        for raw in headers.get(header, [])[:SENDER_VALUES_MAX]:
            value = " ".join(decode_raw(raw[:HEADER_DECODE_MAX], hint).split())
            for display, found in _entries(value):
                address = _near_miss(found)
                if is_address(address):
                    return address, _name(display, address)
    return None, None


# --- a broken header block ------------------------------------------------------------

# What the standard library's parser takes for a header line (feedparser.headerRE):
# anything else in the header block ends it, and the rest of the headers become body.
_HEADER_LINE = rb"[\x21-\x39\x3b-\x7e]+:"
_IS_HEADER_LINE = re.compile(_HEADER_LINE)
_NOT_HEADER = re.compile(rb"\n(?!" + _HEADER_LINE + rb"|[ \t]|\r?\n|\r?$)")
_SPACE_BEFORE_COLON = re.compile(rb"([\x21-\x39\x3b-\x7e]+)[ \t]+:")
_KNOWN = re.compile(
    rb"\n(from|subject|to|cc|date|message-id|received|return-path|reply-to|sender"
    rb"|mime-version|content-type|content-transfer-encoding)[ \t]*:",
    re.IGNORECASE,
)
# How far a header block is looked for, and read.
HEAD_MAX = 256 * 1024
# An mbox separator line (`From ola@example.org Mon Dec  1 …`), not `From : Ola`.
_MBOX_FROM = re.compile(rb"From [^\s:]")
_FIRST_LINE_OK = re.compile(rb"\n(?:" + _HEADER_LINE + rb"|" + _MBOX_FROM.pattern + rb")")


def head_end(raw: bytes | bytearray) -> int:
    """Where the header block ends (just past the last header line: its first blank
    line, LF or CRLF, whichever comes first), or -1 in the first HEAD_MAX bytes."""
    ends = [end for sep in (b"\n\n", b"\n\r\n") if (end := raw.find(sep, 0, HEAD_MAX)) >= 0]
    return min(ends) + 1 if ends else -1


def _header_start(raw: bytes | bytearray) -> bytes | bytearray:
    """`raw` without a UTF-8 byte order mark or blank lines before its headers (the
    standard library would read every header as body)."""
    start = 3 if raw[:3] == b"\xef\xbb\xbf" else 0
    while raw[start : start + 1] in (b"\r", b"\n") and start < len(raw):
        start += 1
    if start and _KNOWN.match(b"\n" + bytes(raw[start : start + 100])):
        return raw[start:]
    return raw


def repair_head(raw: bytes | bytearray) -> bytes | bytearray:
    """`raw` with a header block the standard library reads whole: NUL bytes out, a
    first line that is no header (and no mbox `From `) dropped, `Name :` made `Name:`,
    and a line that is no header folded into the one before, when headers a mail
    has (From, Subject, …) follow it; a byte order mark or blank lines before the
    headers dropped. A well-formed message comes back as it was."""
    raw = _header_start(raw)
    end = head_end(raw)
    if end < 0:
        return raw
    head = b"\n" + bytes(raw[:end])
    if _FIRST_LINE_OK.match(head) and b"\x00" not in head and not _NOT_HEADER.search(head):
        return raw
    lines = head.replace(b"\x00", b"")[1:].split(b"\n")
    known = [i for i, line in enumerate(lines) if _KNOWN.match(b"\n" + line)]
    if not known:
        return raw  # no header block at all (a file sent raw): nothing to repair
    last_known = known[-1]
    fixed: list[bytes] = []
    for index, line in enumerate(lines):
        if _IS_HEADER_LINE.match(line) or line[:1] in (b" ", b"\t") or line in (b"", b"\r"):
            fixed.append(line)
            continue
        if index == 0 and _MBOX_FROM.match(line):
            fixed.append(line)
            continue
        near = _SPACE_BEFORE_COLON.match(line)
        if near:
            fixed.append(near.group(1) + b":" + line[near.end() :])
            continue
        if index > last_known:
            fixed.extend(lines[index:])  # the body starts here, its blank line missing
            break
        if index == 0 or not fixed:
            continue  # a first line that is no header: dropped
        fixed.append(b" " + line)  # folded without the leading white space
    return b"\n".join(fixed) + raw[end:]
