"""Messages built to hurt a mail parser: each within the default 25 MB size limit, each
with "printer" in its subject so that it routes to a board like ordinary mail."""

from __future__ import annotations

from collections.abc import Callable


def headers(name: str, content_type: str, subject: str = "printer bomb") -> bytes:
    return (
        f"From: Bomber <bomb-{name}@example.org>\r\nTo: help@example.com\r\n"
        f"Subject: {subject}\r\nMessage-ID: <bomb-{name}@example.org>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n\r\n"
    ).encode()


def large() -> bytes:
    """25 MB less a little: a 20 MB text part and a 4 MB attachment."""
    line = b"the printer says paper jam again, and again, and again, and again\r\n"
    text = line * (20_000_000 // len(line))
    attachment = b"QUJDRA==" * 9 + b"\r\n"
    return (
        headers("large", 'multipart/mixed; boundary="cut"')
        + b'--cut\r\nContent-Type: text/plain; charset="utf-8"\r\n\r\n'
        + text
        + b'\r\n--cut\r\nContent-Type: application/octet-stream; name="dump.bin"\r\n'
        + b"Content-Transfer-Encoding: base64\r\n\r\n"
        + attachment * (4_000_000 // len(attachment))
        + b"--cut--\r\n"
    )


def nested(depth: int = 100) -> bytes:
    """Multipart inside multipart, `depth` levels, the text at the bottom."""
    opening = b"".join(
        f'--b{level}\r\nContent-Type: multipart/mixed; boundary="b{level + 1}"\r\n\r\n'.encode()
        for level in range(depth)
    )
    bottom = (
        f"--b{depth}\r\nContent-Type: text/plain\r\n\r\nthe deepest printer\r\n--b{depth}--\r\n"
    )
    closing = b"".join(f"--b{level}--\r\n".encode() for level in reversed(range(depth)))
    return headers("nested", 'multipart/mixed; boundary="b0"') + opening + bottom.encode() + closing


def many_parts(count: int = 10_000) -> bytes:
    """A short text and then `count` named attachments."""
    parts = b"".join(
        f'--p\r\nContent-Type: image/png; name="shot-{n}.png"\r\n\r\nAAAA\r\n'.encode()
        for n in range(count)
    )
    text = b"--p\r\nContent-Type: text/plain\r\n\r\nsee the screenshots\r\n"
    return headers("many", 'multipart/mixed; boundary="p"') + text + parts + b"--p--\r\n"


def long_header_line() -> bytes:
    """A 5 MB `From:` line of the shape that makes the header parser slowest, and a
    5 MB unfolded header of its own."""
    hostile = b"X-Junk: " + b'"a" <a@b.c>, ' * 400_000 + b"\r\n"
    return (
        hostile
        + headers("long", "text/plain").replace(
            b"From: Bomber <bomb-long@example.org>",
            b"From: Bomber <bomb-long@example.org>, " + b"a," * 2_500_000,
        )
        + b"the printer is fine\r\n"
    )


def html_bomb() -> bytes:
    """Two million unclosed `<div>`s, then a million tiny elements: a tree builder
    takes gigabytes."""
    return (
        headers("html", "text/html; charset=utf-8")
        + b"<p>printer on fire</p>"
        + b"<div>" * 2_000_000
        + b"<b>x</b>" * 1_000_000
    )


BOMBS: dict[str, Callable[[], bytes]] = {
    "large": large,
    "nested": nested,
    "many": many_parts,
    "long": long_header_line,
    "html": html_bomb,
}
