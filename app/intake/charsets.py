"""Bytes of mail → text, whatever the label says.

Mail labels lie in known ways, and a ticket must never show garbage where a mail client
shows the text. The rule (docs/email.md, "Charsets"), in order:

1. 7-bit bytes are ASCII, unless they are in a stateful 7-bit encoding: the declared
   one (UTF-7, ISO-2022-*, HZ), or ISO-2022-JP/KR when they hold its escape sequences
   with no label saying so. These are decoded before anything filters control
   characters: their escape bytes are not junk.
2. 8-bit bytes that are valid UTF-8 are UTF-8, whatever the label says (for an
   ASCII-compatible label): a run of bytes in another charset almost never forms
   valid UTF-8, and UTF-8 labelled Latin-1 is the commonest mislabel of all. UTF-8
   that spells another encoding's bytes as Latin-1 characters (encoded twice) is
   read back.
3. A declared multi-byte charset, widened to the superset that mailers actually write
   under its name (the WHATWG Encoding Standard's table, as browsers read it:
   GB2312 → GB18030, KS_C_5601 → cp949, Shift_JIS → cp932), if it decodes every byte.
4. Mostly UTF-8 (a few broken bytes) is UTF-8, the broken bytes as windows-1252.
5. A declared single-byte charset, widened the same way (ISO-8859-1 → windows-1252).
6. Otherwise the charset `charset-normalizer` ranks best among those mail is written
   in that decode every byte (unknown, missing or wrong labels). Some candidate always
   does (the single-byte ones decode any byte string), so no text holds U+FFFD; a
   text cut short loses only the broken character at its end.
"""

from __future__ import annotations

import codecs
import re
from contextvars import ContextVar, Token

import charset_normalizer

# Labels as mailers write them → the codec that reads what they actually send.
_WIDER = {
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "iso-8859-9": "cp1254",
    "latin5": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "csgb2312": "gb18030",
    "chinese": "gb18030",
    "big5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "ksc5601": "cp949",
    "euc-kr": "cp949",
    "korean": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "iso-8859-8-i": "iso-8859-8",
    "unicode-1-1-utf-7": "utf-7",
    "utf8": "utf-8",
}
_ISO2022JP = frozenset(
    {"iso-2022-jp", "iso2022-jp", "iso2022_jp", "csiso2022jp", "iso-2022-jp-2", "iso-2022-jp-ms"}
)
# Codecs whose text is 7-bit bytes with shifts: never read these as plain ASCII.
_STATEFUL = ("utf_7", "iso2022", "hz")
_ASCII_INCOMPATIBLE = ("utf_16", "utf_32")
_ESCAPE = re.compile(rb"\x1b(?:\$[@B(]|\(|\$\)C)")
_JIS_ESCAPE = re.compile(rb"\x1b(\$@|\$B|\$\(Q|\$\(O|\(B|\(J|\(I)")
# Detection's candidates: what mail is written in (the order breaks a tie: a short
# text is ambiguous, and windows-1252 is the likeliest; KOI8-R read as windows-1251
# is all capitals, windows-1251 read as KOI8-R is chaos).
_DETECTABLE = [
    "cp1252",
    "cp1250",
    "iso8859_2",
    "koi8_r",
    "cp1251",
    "cp1253",
    "cp1254",
    "cp1255",
    "cp1256",
    "cp1257",
    "cp874",
    "gb18030",
    "big5hkscs",
    "cp932",
    "euc_jp",
    "cp949",
]
DETECT_SAMPLE = 64 * 1024
_ORDER = {codecs.lookup(name).name: i for i, name in enumerate(_DETECTABLE)}


def codec_for(label: str | None) -> codecs.CodecInfo | None:
    """The text codec that reads what mailers send under `label`, or None."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = _WIDER.get(name, name)
    if name in _ISO2022JP:
        name = "iso2022_jp_ext"
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True):  # "base64", "rot13": not charsets
        return None
    return info


def _strict(info: codecs.CodecInfo, payload: bytes, complete: bool) -> str | None:
    try:
        return str(info.incrementaldecoder().decode(payload, final=complete))
    except (UnicodeDecodeError, ValueError, LookupError):
        return None


def _name(info: codecs.CodecInfo) -> str:
    return info.name.replace("-", "_")


_UTF8 = codecs.lookup("utf-8")


def decode_bytes(payload: bytes, label: str | None, *, complete: bool = True) -> str:
    """`payload` as text by the rule above. With `complete=False` the bytes were cut
    short: a character broken at the end is dropped rather than counted as an error."""
    declared = codec_for(label)
    if declared is not None and _name(declared).startswith(_ASCII_INCOMPATIBLE):
        text = _strict(declared, payload, complete)
        if text is not None:
            return text
    if payload.isascii():
        return _seven_bit(payload, declared, complete)
    text = _strict(_UTF8, payload, complete)
    if text is not None:
        return _undo_double_encoding(text, declared)
    # A declared multi-byte charset is tried before "mostly UTF-8" (GBK forms valid
    # UTF-8 pairs by chance); a single-byte one, which decodes anything, after it.
    multibyte = declared is not None and not _single_byte(declared)
    text = _declared(payload, declared, complete) if multibyte else None
    if text is None:
        text = _mostly_utf8(payload, declared, complete)
    if text is None and not multibyte:
        text = _declared(payload, declared, complete)
    return _detected(payload, complete) if text is None else text


def _declared(payload: bytes, declared: codecs.CodecInfo | None, complete: bool) -> str | None:
    if declared is None:
        return None
    text = _strict(declared, payload, complete)
    if text is None and declared.name == "iso2022_jp_ext":
        text = _iso2022jp_as_cp932(payload)
    return text


def _latin1_bytes(errors: UnicodeError) -> tuple[str, int]:
    """A broken byte in UTF-8 read as windows-1252 (Latin-1 where it has none)."""
    if not isinstance(errors, UnicodeDecodeError):
        raise errors
    bad = errors.object[errors.start : errors.end]
    return "".join(_CP1252_OR_LATIN1[b] for b in bad), errors.end


_CP1252_OR_LATIN1 = [
    chr(b) if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else bytes((b,)).decode("cp1252")
    for b in range(256)
]


codecs.register_error("intake-cp1252", _latin1_bytes)
# UTF-8 with at least one valid multi-byte character per this many broken bytes is
# read as UTF-8 (its broken bytes as windows-1252).
MOSTLY_UTF8 = 2


def _mostly_utf8(payload: bytes, declared: codecs.CodecInfo | None, complete: bool) -> str | None:
    """UTF-8 with a few broken bytes (a truncated or spliced text) reads best as
    UTF-8, its broken bytes as windows-1252 (no U+FFFD); None if it is not that: at
    least one valid multi-byte character per MOSTLY_UTF8 broken bytes. Text in a CJK
    multi-byte charset forms valid UTF-8 pairs by chance (GBK: one per four broken
    bytes), so unlabelled bytes that a CJK charset decodes are left to detection."""
    sample = payload[:DETECT_SAMPLE]
    replaced = sample.decode("utf-8", errors="replace")
    broken = replaced.count("\ufffd")
    multibyte = len(replaced) - len(replaced.encode("ascii", "ignore")) - broken
    if not multibyte or MOSTLY_UTF8 * multibyte < broken:
        return None
    if declared is None:
        whole = complete and len(sample) == len(payload)
        for name in _CJK:
            text = _strict(codecs.lookup(name), sample, whole)
            if text is not None and not _PRIVATE_USE.search(text):  # cp932 reads 0xFF so
                return None
    decoder = codecs.getincrementaldecoder("utf-8")(errors="intake-cp1252")
    return str(decoder.decode(payload, final=complete))


_CJK = ("gb18030", "big5hkscs", "cp932", "cp949", "euc_jp")
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")
# UTF-8's lead and continuation bytes spelled as Latin-1 / windows-1252 characters.
_SPELLED_PAIR = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178"
    "\u017d\u017e\u0192\u02c6\u02dc\u2013-\u2022\u2026\u2030"
    "\u2039\u203a\u20ac\u2122]"
)
# What text encoded twice turns back into: letters of the scripts mail is written in
# and typographic punctuation. (Chance pairs in real text give IPA, NKo, Arabic.)
_COMMON = re.compile(
    "[\u0000-\u024f\u0370-\u03ff\u0400-\u04ff\u2010-\u206f\u20ac\u2122"
    "\u3000-\u30ff\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef]*"
)
DOUBLE_ENCODED_DENSITY = 0.3


def _undo_double_encoding(text: str, declared: codecs.CodecInfo | None) -> str:
    """UTF-8 that spells another encoding's bytes as Latin-1 or windows-1252
    characters (`Ã©` for `é`): those bytes read as UTF-8 again, when they decode
    cleanly into letters of a common script; and for a declared CJK charset (Big5
    turned into `¤j¸É`), when nearly all the text is such characters. Real text in
    those characters is left alone: `CAFÉ’S` would give IPA (`CAFɒS`)."""
    if text.isascii() or not _SPELLED_PAIR.search(text):
        return text
    for single in ("latin-1", "cp1252"):
        try:
            spelled = text.encode(single)
        except UnicodeEncodeError:
            continue
        again = _strict(_UTF8, spelled, True)
        if again is not None and _COMMON.fullmatch(again):
            return again
        if declared is not None and not _single_byte(declared) and _dense(text):
            again = _strict(declared, spelled, True)
            if again is not None:
                return again
        return text
    return text


def _dense(text: str) -> bool:
    """Mostly 8-bit characters: a CJK text encoded twice, not a Latin one."""
    eight_bit = len(text) - len(text.encode("ascii", "ignore"))
    return eight_bit >= DOUBLE_ENCODED_DENSITY * len(text.strip())


def _single_byte(info: codecs.CodecInfo) -> bool:
    return _name(info).startswith(_SINGLE_BYTE)


_SINGLE_BYTE = ("cp12", "cp437", "cp85", "cp874", "iso8859", "latin", "koi8", "mac", "ascii")


def _seven_bit(payload: bytes, declared: codecs.CodecInfo | None, complete: bool) -> str:
    if declared is not None and _name(declared).startswith(_STATEFUL):
        text = _declared(payload, declared, complete)
        if text is not None:
            return text
    if b"\x1b" in payload and _ESCAPE.search(payload):
        for name in ("iso2022_jp_ext", "iso2022_jp_2", "iso2022_kr"):
            text = _strict(codecs.lookup(name), payload, complete)
            if text is not None:
                return text
        text = _iso2022jp_as_cp932(payload)
        if text is not None:
            return text
    return payload.decode("ascii")


# Detection costs about a millisecond a call however short the text: a message gets
# this many (a hostile one has thousands of encoded words); after that the candidates
# are taken in order.
DETECTIONS_PER_MESSAGE = 16
_detections_left: ContextVar[int] = ContextVar("detections_left", default=DETECTIONS_PER_MESSAGE)


def detection_budget() -> Token[int]:
    """Give the message about to be read its own detection budget; hand the token to
    end_detection_budget when it is read."""
    return _detections_left.set(DETECTIONS_PER_MESSAGE)


def end_detection_budget(token: Token[int]) -> None:
    _detections_left.reset(token)


def _detected(payload: bytes, complete: bool) -> str:
    """The candidate charset-normalizer finds least chaotic (ties: the more coherent
    in a language, then the earlier in _DETECTABLE: windows-1252 first), among those
    that decode every byte."""
    left = _detections_left.get()
    if left > 0:
        _detections_left.set(left - 1)
        matches = charset_normalizer.from_bytes(
            payload[:DETECT_SAMPLE], cp_isolation=_DETECTABLE, preemptive_behaviour=False
        )
        ranked = sorted(
            matches,
            key=lambda m: (
                round(m.chaos, 2),
                -round(m.coherence, 2),
                _ORDER.get(codecs.lookup(m.encoding).name, len(_ORDER)),
            ),
        )
        for match in ranked:
            info = codec_for(match.encoding)
            text = None if info is None else _strict(info, payload, complete)
            if text is not None:
                return text
    for name in _DETECTABLE:  # in order; the single-byte ones decode anything
        text = _strict(codecs.lookup(name), payload, complete)
        if text is not None:
            return text
    # Not reached: ISO-8859-2 among the candidates decodes any byte string.
    return payload.decode("latin-1")


def _iso2022jp_as_cp932(payload: bytes) -> str | None:
    """ISO-2022-JP with the vendor characters of Windows (NEC circled digits, IBM
    kanji): its JIS X 0208 pairs moved to Shift_JIS and read as cp932, which holds
    them. None if something else than JIS X 0208 / ASCII / katakana is shifted in."""
    out = bytearray()
    mode = b"(B"
    position = 0
    for match in _JIS_ESCAPE.finditer(payload):
        out += _shifted(payload[position : match.start()], mode)
        mode = match.group(1)
        position = match.end()
    out += _shifted(payload[position:], mode)
    try:
        return out.decode("cp932")
    except UnicodeDecodeError:
        return None


def _shifted(chunk: bytes, mode: bytes) -> bytes:
    if mode in (b"(B", b"(J"):
        return chunk
    if mode == b"(I":  # half-width katakana: 0x21-0x5F → 0xA1-0xDF
        return bytes(b + 0x80 if 0x21 <= b <= 0x5F else b for b in chunk)
    out = bytearray()
    for i in range(0, len(chunk) - 1, 2):
        j1, j2 = chunk[i], chunk[i + 1]
        if not (0x21 <= j1 <= 0x7E and 0x21 <= j2 <= 0x7E):
            out += bytes((j1, j2))
            continue
        s1 = (j1 + 1) // 2 + 0x70
        if s1 >= 0xA0:
            s1 += 0x40
        if j1 % 2:
            s2 = j2 + 0x1F + (1 if j2 >= 0x60 else 0)
        else:
            s2 = j2 + 0x7E
        out += bytes((s1, s2))
    return bytes(out)
