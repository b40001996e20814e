"""HTML mail → readable text, in one streaming pass with the standard library's parser.

No tree is built: memory grows with the text written, not with the markup, so a
message of a million nested or empty tags costs no more than its length in time
(tags left open, which make the parser scan ahead again and again, are written as
text first: `UNCLOSED_TAG_SPAN`), and
reading stops as soon as enough text is out (`max_chars`) or `max_html` characters of
markup have been read. (BeautifulSoup, used before, built a tree: 20 MB of `<b>x</b>`
took 100 s and 2.9 GB, 200,000 nested `<div>` 6 s.)

What comes out: block elements on lines of their own, paragraphs and headings apart,
`<br>` as a line break, list items as `- item` (`1. item` in an `<ol>`), table cells
side by side, links as `text (url)`, entities decoded; nothing of `<script>`,
`<style>`, `<head>` or `<template>`.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Read at most this much markup: enough for any real message (newsletters run to a
# few hundred kilobytes), and a bound on the time a hostile one can take.
HTML_MAX_CHARS = 2_000_000
_FEED = 64 * 1024

_HIDDEN = frozenset({"script", "style", "head", "title", "template", "noscript"})
_PARAGRAPH = frozenset(
    {
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "table",
        "ul",
        "ol",
        "dl",
        "figure",
        "hr",
        "address",
        "form",
        "fieldset",
    }
)
_LINE = frozenset(
    {
        "div",
        "section",
        "article",
        "header",
        "footer",
        "main",
        "nav",
        "aside",
        "center",
        "tr",
        "dt",
        "dd",
        "figcaption",
        "caption",
        "tbody",
        "thead",
        "tfoot",
        "body",
        "html",
    }
)
_CELL = frozenset({"td", "th"})
_VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "wbr"})
_WHITESPACE = re.compile(r"\s+")
_LIST_DEPTH_MAX = 20


class _TextWriter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0
        self._hidden = 0  # inside how many hidden elements
        self._pre = 0
        self._lists: list[int | None] = []  # per open list: the next number, None if <ul>
        self._href: str | None = None
        self._link_text: list[str] = []

    def _write(self, text: str) -> None:
        if self._href is not None:
            self._link_text.append(text)
        self.parts.append(text)
        self.length += len(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
            return
        if tag == "body":  # a <head> left open ends here, as in a browser
            self._hidden = 0
        if tag == "br":
            self._write("\n")
        elif tag in ("ul", "ol"):
            self._write("\n\n")
            if len(self._lists) < _LIST_DEPTH_MAX:
                self._lists.append(1 if tag == "ol" else None)
        elif tag == "li":
            number = self._lists[-1] if self._lists else None
            if number is None:
                self._write("\n- ")
            else:
                self._write(f"\n{number}. ")
                self._lists[-1] = number + 1
        elif tag in _PARAGRAPH:
            self._write("\n\n")
            self._pre += tag == "pre"
        elif tag in _LINE:
            self._write("\n")
        elif tag in _CELL:
            self._write(" ")
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            self._href = (
                href.strip() if href.strip().lower().startswith(("http", "mailto:")) else None
            )
            self._link_text = []
        elif tag == "img":
            alt = " ".join((dict(attrs).get("alt") or "").split())
            if alt and not self._hidden:
                self._write(alt)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/>, <p/>: an element opened and closed at once
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "li":  # the next item starts its own line; the list ends with one
            return
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in ("ul", "ol"):
            if self._lists:
                self._lists.pop()
            self._write("\n\n")
        elif tag in _PARAGRAPH:
            self._pre = max(0, self._pre - (tag == "pre"))
            self._write("\n\n")
        elif tag in _LINE:
            self._write("\n")
        elif tag == "a" and self._href is not None:
            href, shown = self._href, " ".join("".join(self._link_text).split())
            self._href = None
            target = href[7:] if href.lower().startswith("mailto:") else href
            if shown and target not in (shown, shown.rstrip("/")):
                self._write(f" ({href if target == href else target})")
            elif not shown:
                self._write(target)

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        self._write(data if self._pre else _WHITESPACE.sub(" ", data))


# A `<` with no `>` in this many characters after it: the standard library's parser
# scans ahead from every such `<` again (80 KB of `<a<a<a…` took 5 s), so when there
# is one, every `<` whose next angle bracket is another `<` is written as text.
UNCLOSED_TAG_SPAN = 4096
_UNCLOSED_TAG = re.compile(f"<[^>]{{{UNCLOSED_TAG_SPAN}}}")
_LONE_LT = re.compile(r"<(?=[^<>]*(?:<|\Z))")


def html_to_text(html: str, *, max_chars: int, max_html: int = HTML_MAX_CHARS) -> tuple[str, bool]:
    """The text of `html` (not yet tidied) and whether reading stopped early, because
    `max_chars` of text were out or `max_html` of markup read. Markup the parser
    gives up on (`<![x[`) ends the text there, with what was read before it."""
    writer = _TextWriter()
    end = min(len(html), max_html)
    markup = html[:end]
    if _UNCLOSED_TAG.search(markup):
        markup = _LONE_LT.sub("&lt;", markup)
    try:
        for start in range(0, len(markup), _FEED):
            writer.feed(markup[start : start + _FEED])
            if writer.length > max_chars:
                return "".join(writer.parts), True
        writer.close()
    except Exception:  # html.parser's assertions on broken declarations
        return "".join(writer.parts), True
    return "".join(writer.parts), end < len(html)
