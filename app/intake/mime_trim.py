"""A large message cut down to what the parser reads, before it is parsed.

The standard library's parser holds every line of a part as an object and then joins
them: a 20 MB text part cost 60 MB on top of the message. The ticket keeps the first
512 KB of a text part and the names of attachments, so a message over TRIM_ABOVE bytes
is fed to the parser with each part's body cut to PART_KEPT bytes (the rest skipped up
to the next line that starts with `--`, where a MIME boundary can be), its header lines
cut to HEADER_LINE_MAX, and at most PARTS_MAX parts. Every boundary line is kept, so
the tree has the same shape.

The parser's time grows with the parts (3,000 parts: 100 ms), so a message of more
than PARTS_MAX parts is trimmed whatever its size; the parts past PARTS_MAX are not
parsed but counted, for the attachment line's "and N more".
"""

from __future__ import annotations

import re

TRIM_ABOVE = 1024 * 1024
# Enough for 512 KB of text in any transfer encoding (quoted-printable is at most 3x).
PART_KEPT = 3 * 512 * 1024
HEADER_LINE_MAX = 16 * 1024
HEADER_BLOCK_KEPT = 256 * 1024
PARTS_MAX = 500
_PART_START = b"\n--"
# `boundary=` parameters, found by their literal letters (an IGNORECASE pattern over
# megabytes is slow); `Boundary` and `BOUNDARY` included.
_BOUNDARY = re.compile(rb'(?:oundary|OUNDARY)\s*=\s*"?([^"\s;]{1,200})')
BOUNDARIES_MAX = 20


def _boundaries(raw: bytes | bytearray) -> list[bytes]:
    """The MIME boundaries the message declares (the first BOUNDARIES_MAX)."""
    return list(dict.fromkeys(_BOUNDARY.findall(raw)))[:BOUNDARIES_MAX]


def _count(boundaries: list[bytes], raw: bytes | bytearray, start: int = 0) -> int:
    """Lines that open a part (`--boundary`, not the closing `--boundary--`) from
    `start`. Other lines starting with `--` (a signature, a row of dashes) are text."""
    return sum(
        raw.count(b"\n--" + b, max(start - 1, 0))
        - raw.count(b"\n--" + b + b"--", max(start - 1, 0))
        for b in boundaries
    )


def _opens_part(boundaries: list[bytes], raw: bytes | bytearray, position: int) -> bool:
    return any(
        raw.startswith(b"--" + b, position) and not raw.startswith(b"--" + b + b"--", position)
        for b in boundaries
    )


def _line_end(raw: bytes | bytearray, start: int) -> int:
    """The index just past the line that starts at `start` (its LF), or len(raw)."""
    end = raw.find(b"\n", start)
    return len(raw) if end < 0 else end + 1


def _header_block(raw: bytes | bytearray, start: int) -> tuple[list[bytes | bytearray], int]:
    """The header lines from `start` to the blank line (kept), each cut to
    HEADER_LINE_MAX, at most HEADER_BLOCK_KEPT in all; and where the body starts."""
    kept: list[bytes | bytearray] = []
    size, position = 0, start
    while position < len(raw):
        end = _line_end(raw, position)
        line = raw[position : min(end, position + HEADER_LINE_MAX)]
        blank = line in (b"\n", b"\r\n")
        if blank or size < HEADER_BLOCK_KEPT:
            if end - position > HEADER_LINE_MAX:
                line = line.rstrip(b"\r\n") + b"\r\n"
            kept.append(line)
            size += len(line)
        position = end
        if blank:
            break
    return kept, position


def trimmed(raw: bytes | bytearray) -> tuple[list[bytes | bytearray], int]:
    """The pieces to feed the parser, and how many parts were left out past PARTS_MAX
    (counted by their boundary lines). A message up to TRIM_ABOVE bytes and PARTS_MAX
    parts is fed whole. (Whether a text part was cut the parser sees for itself: a cut
    one still holds more than it reads.)"""
    if len(raw) <= TRIM_ABOVE and raw.count(_PART_START) <= PARTS_MAX:
        return [raw], 0  # the usual case, decided without a regular expression
    boundaries = _boundaries(raw)
    if len(raw) <= TRIM_ABOVE and _count(boundaries, raw) <= PARTS_MAX:
        return [raw], 0
    pieces: list[bytes | bytearray] = []
    position, parts = 0, 0
    while position < len(raw):
        head, position = _header_block(raw, position)
        pieces += head
        # The body: up to the next line starting with `--`, of which PART_KEPT is kept.
        following = raw.find(_PART_START, max(position - 1, 0))
        body_end = len(raw) if following < 0 else following + 1
        keep_end = min(body_end, position + PART_KEPT)
        pieces.append(raw[position:keep_end])
        if keep_end < body_end and not raw[position:keep_end].endswith(b"\n"):
            pieces.append(b"\r\n")  # the boundary line must start a line of its own
        position = body_end
        if position >= len(raw):
            break
        if _opens_part(boundaries, raw, position):
            parts += 1
            if parts > PARTS_MAX:
                return pieces, _count(boundaries, raw, position)
        # The `--` line; what follows it is read as a header block (a part's headers,
        # or, after a `--` that is not a boundary, lines cut like headers: rare, and
        # only in a message over TRIM_ABOVE).
        end = _line_end(raw, position)
        pieces.append(raw[position : min(end, position + HEADER_LINE_MAX)].rstrip(b"\r\n"))
        pieces.append(b"\r\n")
        position = end
    return pieces, 0
