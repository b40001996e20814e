"""Hostile real-world mail read as a good mail client shows it (docs/email.md).

Each sample is built by hand after a message class seen in real mail: labels that lie,
stateful encodings, raw 8-bit headers, senders in every form, broken header blocks,
and bodies nested, split or dressed up. Each test fails on the parser before these
fixes (issue 11).
"""

from __future__ import annotations

import base64
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from app.intake.charsets import decode_bytes
from app.intake.ingest import ticket_description
from app.intake.parse import FORWARDED, IncomingEmail, parse_email


def mail(headers: bytes, body: bytes = b"hello\r\n") -> IncomingEmail:
    return parse_email(headers + b"\r\n" + body)


def plain(charset: str, body: bytes, *, cte: bytes = b"8bit") -> IncomingEmail:
    return mail(
        b"From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=" + charset.encode() + b"\r\n"
        b"Content-Transfer-Encoding: " + cte + b"\r\n",
        body,
    )


# --- charsets ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "text", "written_as"),
    [
        # 镕 is in GBK, not in GB2312: Chinese mailers write GBK and label it gb2312.
        ("gb2312", "朱镕基总理的报告", "gbk"),
        # Smart quotes and the euro sign: windows-1252 labelled iso-8859-1.
        ("iso-8859-1", "“Printer” costs 5 € – again", "cp1252"),
        # 똠 is in cp949 (Unified Hangul Code), not in EUC-KR / KS X 1001.
        ("euc-kr", "똠방각하 프린터 고장", "cp949"),
        # NEC circled digits are in cp932, not in Shift_JIS proper.
        ("shift_jis", "①番のプリンター", "cp932"),
        # A body labelled UTF-8 that is windows-1250.
        ("utf-8", "Drukarka w pokoju 12 nie działa, proszę o pomoc. Zażółć gęślą jaźń.", "cp1250"),
        # UTF-8 labelled Latin-1: the commonest mislabel of all.
        ("iso-8859-1", "Zażółć gęślą jaźń", "utf-8"),
    ],
)
def test_a_charset_label_that_lies_the_usual_way_still_reads(
    label: str, text: str, written_as: str
) -> None:
    parsed = plain(label, text.encode(written_as) + b"\r\n")
    assert parsed.text == text


def test_iso_2022_jp_with_nec_circled_digits_is_decoded_before_control_filtering() -> None:
    # ESC $ B, then ① ② (NEC row 13: 0x2D21 0x2D22) and 日本 (0x467C 0x4B5C), ESC ( B.
    body = b'\x1b$B-!-"F|K\\\x1b(B printer\r\n'
    parsed = plain("iso-2022-jp", body, cte=b"7bit")
    assert parsed.text == "①②日本 printer"


def test_iso_2022_jp_without_a_label_is_recognised_by_its_escapes() -> None:
    body = "日本語のテキスト".encode("iso2022_jp") + b"\r\n"
    parsed = mail(b"From: a@example.com\r\nSubject: s\r\n", body)
    assert parsed.text == "日本語のテキスト"


def test_utf_7_is_decoded() -> None:
    parsed = plain("utf-7", "Drukarka nie działa ☹".encode("utf-7") + b"\r\n", cte=b"7bit")
    assert parsed.text == "Drukarka nie działa ☹"


@pytest.mark.parametrize("label", ["x-no-such-charset", None])
def test_unknown_or_missing_labels_pick_a_charset_that_decodes_cleanly(label: str | None) -> None:
    text = "Привет! Принтер в комнате 12 не работает, помогите пожалуйста. Спасибо."
    content_type = (
        b"" if label is None else f"Content-Type: text/plain; charset={label}\r\n".encode()
    )
    parsed = mail(b"From: a@example.com\r\n" + content_type, text.encode("cp1251") + b"\r\n")
    assert parsed.text == text


@pytest.mark.parametrize(
    ("text", "written_as"),
    [
        ("打印机坏了，请尽快修理。我们的办公室在三楼，电话是一二三四。", "gbk"),
        ("印表機壞了，請盡快修理。謝謝！我們的辦公室在三樓。", "big5"),
    ],
)
def test_unlabelled_cjk_text_is_not_taken_for_broken_utf8(text: str, written_as: str) -> None:
    """GBK and Big5 form valid UTF-8 pairs by chance (one per four broken bytes)."""
    parsed = mail(b"From: a@example.com\r\n", text.encode(written_as) + b"\r\n")
    assert parsed.text == text


def test_mostly_utf8_with_a_broken_byte_keeps_the_utf8_and_no_replacement_character() -> None:
    # A name cut one byte short by a broken mailer, then a stray byte.
    parsed = mail(b"From: " + "Юникод запрещен".encode() + b"\xf1 <u@example.com>\r\n")
    assert parsed.sender_name == "Юникод запрещенñ"


def test_double_encoded_utf8_is_read_back() -> None:
    twice = "Zażółć gęślą jaźń".encode().decode("latin-1").encode()
    assert plain("utf-8", twice).text == "Zażółć gęślą jaźń"
    # Real text in those characters is left alone.
    assert plain("utf-8", "Ã la carte, 3 × 4".encode()).text == "Ã la carte, 3 × 4"


def test_no_text_holds_a_replacement_character_when_a_charset_decodes_it() -> None:
    for raw in (bytes(range(0xA0, 0x100)) * 3, b"caf\xe9 \x81\x8d\x8f\x90\x9d"):
        assert "\ufffd" not in plain("utf-8", raw).text
        assert "\ufffd" not in decode_bytes(raw, "utf-8")


# --- headers in raw 8-bit, stateful encodings and lying encoded words ------------------


def test_raw_shift_jis_headers_are_read_in_the_message_charset() -> None:
    subject = "プリンターが動きません".encode("cp932")
    name = "山田太郎".encode("cp932")
    parsed = mail(
        b"From: " + name + b" <yamada@example.jp>\r\nSubject: " + subject + b"\r\n"
        b"Content-Type: text/plain; charset=shift_jis\r\n",
        "本文".encode("cp932") + b"\r\n",
    )
    assert parsed.subject == "プリンターが動きません"
    assert parsed.sender_name == "山田太郎" and parsed.sender_email == "yamada@example.jp"
    assert parsed.text == "本文"


def test_raw_gbk_subject_behind_a_gb2312_body_label() -> None:
    parsed = mail(
        b"From: li@example.cn\r\nSubject: " + "打印机坏了，朱镕基".encode("gbk") + b"\r\n"
        b"Content-Type: text/plain; charset=gb2312\r\n",
    )
    assert parsed.subject == "打印机坏了，朱镕基"


def test_raw_iso_2022_jp_in_a_subject_without_encoded_words() -> None:
    parsed = mail(b"From: a@example.jp\r\nSubject: " + "会議室".encode("iso2022_jp") + b"\r\n")
    assert parsed.subject == "会議室"


def test_encoded_words_in_a_lying_charset_and_split_mid_character() -> None:
    gbk = base64.b64encode("朱镕基".encode("gbk")).decode()
    utf8 = "żółw".encode()
    first = base64.b64encode(utf8[:2]).decode()  # "ż" split across two words
    second = base64.b64encode(utf8[2:]).decode()
    parsed = mail(
        f"From: a@example.com\r\nSubject: =?gb2312?B?{gbk}?= "
        f"=?utf-8?B?{first}?= =?utf-8?B?{second}?=\r\n".encode()
    )
    assert parsed.subject == "朱镕基żółw"


# --- addresses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_", "address", "name"),
    [
        (b'"Jan Kowalski" <jan@example.com>', "jan@example.com", "Jan Kowalski"),
        (b"jan@example.com (Jan Kowalski)", "jan@example.com", "Jan Kowalski"),
        (b"=?utf-8?q?Pawe=C5=82_G=C4=85siorowski?= <pg@example.pl>", "pg@example.pl", None),
        (b"=?utf-8?q?Doe=2C_John?= <john@example.com>", "john@example.com", "Doe, John"),
        (b'"Doe, John" <john@example.com>', "john@example.com", "Doe, John"),
        (b'"John \\"JJ\\" Doe" <jj@example.com>', "jj@example.com", 'John "JJ" Doe'),
        (b", ola@example.org", "ola@example.org", None),
        (b"undisclosed-recipients:;, ola@example.org", "ola@example.org", None),
        (b"Team: ola@example.org, ewa@example.org;", "ola@example.org", None),
        (b"Ola <ola@example.org.>", "ola@example.org", "Ola"),
        (b"<mailto:ola@example.org>", "ola@example.org", None),
        (b"Ola Nowak ola@example.org", "ola@example.org", None),
    ],
)
def test_the_sender_in_every_form_a_mail_client_shows(
    from_: bytes, address: str, name: str | None
) -> None:
    parsed = mail(b"From: " + from_ + b"\r\nSubject: s\r\n")
    assert parsed.sender_email == address
    expected = "Paweł Gąsiorowski" if from_.startswith(b"=?utf-8?q?Pawe") else name
    assert parsed.sender_name == expected


def test_a_second_from_header_is_read_when_the_first_is_junk() -> None:
    parsed = mail(b"From: MAILER\r\nFrom: Ola <ola@example.org>\r\nSubject: s\r\n")
    assert (parsed.sender_email, parsed.sender_name) == ("ola@example.org", "Ola")


@pytest.mark.parametrize(
    ("headers", "address"),
    [
        (b"From: Helpdesk Robot\r\nSender: Ewa <ewa@example.org>\r\n", "ewa@example.org"),
        (b"Sender: nobody\r\nReply-To: <ola@example.org>\r\n", "ola@example.org"),
        (b"Reply-To: x\r\nReturn-Path: <bounce@example.org>\r\n", "bounce@example.org"),
        (b"Sender: ewa@example.org\r\nReply-To: ola@example.org\r\n", "ewa@example.org"),
    ],
)
def test_without_a_from_address_sender_reply_to_and_return_path_in_that_order(
    headers: bytes, address: str
) -> None:
    assert mail(headers + b"Subject: s\r\n").sender_email == address


def test_no_address_anywhere_is_no_sender() -> None:
    parsed = mail(b"From: root@localhost\r\nReturn-Path: <>\r\nSubject: s\r\n")
    assert parsed.sender_email is None


# --- broken header blocks ------------------------------------------------------------


def test_a_badly_folded_line_does_not_end_the_header_block() -> None:
    parsed = mail(
        b"Subject: printer on the\r\nsecond floor is broken\r\n"
        b"From: Ola <ola@example.org>\r\nMessage-ID: <fold@example.org>\r\n",
        b"it jams\r\n",
    )
    assert parsed.subject == "printer on the second floor is broken"
    assert parsed.sender_email == "ola@example.org"
    assert parsed.message_id == "<fold@example.org>"
    assert parsed.text == "it jams"


def test_a_first_line_that_is_no_header_is_skipped() -> None:
    parsed = mail(b">>> garbage from a broken relay\r\nFrom: ola@example.org\r\nSubject: s\r\n")
    assert (parsed.sender_email, parsed.subject) == ("ola@example.org", "s")
    assert parsed.text == "hello"


def test_a_space_before_the_colon_bare_lf_nul_and_8bit_bytes_in_headers() -> None:
    raw = (
        b"From : Ola <ola@example.org>\n"
        b"Subject: Dru\x00karka \xc5\xbcle\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"\nbody\n"
    )
    parsed = parse_email(raw)
    assert parsed.sender_email == "ola@example.org"
    assert parsed.subject == "Drukarka żle"
    assert parsed.text == "body"


def test_a_message_with_no_header_block_is_left_as_it_is() -> None:
    parsed = parse_email(b"just some text\r\nwith: a colon\r\n\r\nand more\r\n")
    assert parsed.sender_email is None
    assert "and more" in parsed.text


# --- bodies --------------------------------------------------------------------------

HTML = (
    b"<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
    b"<p>The printer &amp; the scanner:</p><ul><li>jams</li><li>beeps</li></ul>"
    b"Line one<br>Line two <a href='https://example.org/faq'>FAQ</a></body></html>"
)


def multipart(subtype: str, *parts: bytes, boundary: str = "b") -> bytes:
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    return (
        b"Content-Type: multipart/"
        + subtype.encode()
        + b"; boundary="
        + boundary.encode()
        + b"\r\n\r\n"
        + body
        + b"--"
        + boundary.encode()
        + b"--\r\n"
    )


def part(content_type: bytes, body: bytes, *extra: bytes) -> bytes:
    return (
        b"Content-Type: "
        + content_type
        + b"\r\n"
        + b"".join(e + b"\r\n" for e in extra)
        + (b"\r\n" + body)
    )


def message(tree: bytes) -> IncomingEmail:
    return parse_email(b"From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n" + tree)


def test_a_plain_part_that_only_points_to_the_html_gives_way_to_it() -> None:
    parsed = message(
        multipart(
            "alternative",
            part(b"text/plain", b"To view this message, please use an HTML-capable client."),
            part(b"text/html; charset=utf-8", HTML),
        )
    )
    assert parsed.text == (
        "The printer & the scanner:\n\n- jams\n- beeps\n\n"
        "Line one\nLine two FAQ (https://example.org/faq)"
    )


def test_a_real_plain_part_is_preferred_to_the_html() -> None:
    parsed = message(
        multipart(
            "alternative",
            part(b"text/plain", b"The printer is jammed."),
            part(b"text/html", b"<p>The printer is <b>jammed</b>.</p>"),
        )
    )
    assert parsed.text == "The printer is jammed."


def test_nested_alternative_and_related_parts_are_read_in_place() -> None:
    related = multipart(
        "related",
        part(b"text/html", b"<p>See the <b>screenshot</b></p><img src='cid:i1'>"),
        part(
            b"image/png", b"iVBORw0KGgo=", b"Content-ID: <i1>", b"Content-Transfer-Encoding: base64"
        ),
        boundary="r",
    )
    alternative = multipart("alternative", part(b"text/plain", b""), related, boundary="a")
    tree = multipart(
        "mixed",
        alternative,
        part(
            b"application/pdf; name=report.pdf", b"JVBERi0=", b"Content-Transfer-Encoding: base64"
        ),
        part(b"text/plain", b"Sent from my phone"),
        boundary="m",
    )
    parsed = message(tree)
    assert parsed.text == "See the screenshot\n\nSent from my phone"
    assert parsed.attachments == ["image/png, unnamed", "report.pdf"]


def test_tnef_unnamed_images_videos_and_delivery_status_are_listed() -> None:
    tree = multipart(
        "mixed",
        part(b"text/plain", b"Attached."),
        part(b"application/ms-tnef", b"eJ8+IgAA", b"Content-Transfer-Encoding: base64"),
        part(b"image/jpeg", b"/9j/4AA=", b"Content-Transfer-Encoding: base64"),
        part(b"video/mp4", b"AAAA", b"Content-Transfer-Encoding: base64"),
        part(b"message/delivery-status", b"Reporting-MTA: dns; mx.example.org\r\n"),
    )
    parsed = message(tree)
    assert parsed.attachments == [
        "winmail.dat",
        "image/jpeg, unnamed",
        "video/mp4, unnamed",
        "message/delivery-status, unnamed",
    ]
    assert "Attachments (not stored): winmail.dat, image/jpeg, unnamed" in ticket_description(
        parsed
    )


def test_a_forwarded_message_is_shown_with_its_own_from_and_subject() -> None:
    inner = (
        b"From: =?utf-8?q?Ewa_=C5=BBak?= <ewa@example.org>\r\nSubject: Toner\r\n"
        b"Date: Mon, 1 Dec 2026 10:00:00 +0100\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nWe are out of toner.\r\n"
    )
    tree = multipart(
        "mixed",
        part(b"text/plain", b"FYI, see below."),
        part(b"message/rfc822", inner, b"Content-Disposition: attachment; filename=fwd.eml"),
    )
    parsed = message(tree)
    assert parsed.text == (
        f"FYI, see below.\n\n{FORWARDED}\nFrom: Ewa Żak <ewa@example.org>\n"
        "Date: Mon, 1 Dec 2026 10:00:00 +0100\nSubject: Toner\n\nWe are out of toner."
    )


def test_binary_data_in_a_text_part_is_listed_not_shown() -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    parsed = message(
        part(b"text/plain; charset=iso-8859-1", png, b"Content-Transfer-Encoding: base64")
    )
    assert parsed.text == ""
    assert parsed.attachments == ["application/octet-stream, unnamed"]


def test_an_rfc2231_name_in_a_lying_charset_and_a_raw_8bit_name() -> None:
    tree = multipart(
        "mixed",
        part(b"text/plain", b"two files"),
        part(
            b"application/pdf",
            b"JVBERi0=",
            b"Content-Transfer-Encoding: base64",
            b"Content-Disposition: attachment; filename*=gb2312''%D6%EC%E9F%BB%F9.pdf",
        ),
        part(
            b"application/pdf",
            b"JVBERi0=",
            b"Content-Transfer-Encoding: base64",
            b'Content-Disposition: attachment; filename="' + "cieśle.pdf".encode() + b'"',
        ),
    )
    assert message(tree).attachments == ["朱镕基.pdf", "cieśle.pdf"]


# --- found by an adversarial review: never raise, never slow, never lose text ----------


@pytest.mark.parametrize(
    "raw",
    [
        # An 8-bit byte as the charset of an RFC 2231 boundary: the standard library
        # takes it for a codec name.
        b"Content-Type: multipart/mixed; boundary*=\xe9''b\r\n\r\n--b\r\n\r\nhi\r\n--b--\r\n",
        # A thousand nested messages: the standard library's parser recurses.
        b"From: a@example.com\r\n"
        + b"Content-Type: message/rfc822\r\n\r\n" * 989
        + b"Content-Type: text/plain\r\n\r\nleaf\r\n",
    ],
)
def test_a_structure_the_standard_library_gives_up_on_still_gives_the_headers(raw: bytes) -> None:
    parsed = parse_email(raw)
    assert parsed.defects and parsed.defects[0].startswith("structure unreadable")
    assert parsed.sender_email == ("a@example.com" if raw.startswith(b"From") else None)


def test_html_the_parser_chokes_on_keeps_the_other_parts() -> None:
    tree = multipart(
        "mixed",
        part(b"text/plain", b"plain part"),
        part(b"text/html", b"<p>hello</p><![foo[x]]>"),
        part(b"application/pdf; name=a.pdf", b"JVBERi0=", b"Content-Transfer-Encoding: base64"),
    )
    parsed = message(tree)
    assert parsed.text == "plain part\n\nhello"
    assert parsed.attachments == ["a.pdf"]


def nested_alternatives(depth: int) -> bytes:
    inner = b"Content-Type: text/html\r\n\r\n<p>real text</p>\r\n"
    for level in range(depth):
        b = b"b%d" % level
        inner = (
            b"Content-Type: multipart/alternative; boundary="
            + b
            + b"\r\n\r\n--"
            + b
            + b"\r\nContent-Type: text/plain\r\n\r\n\r\n--"
            + b
            + b"\r\n"
            + inner
            + b"--"
            + b
            + b"--\r\n"
        )
    return b"From: a@example.com\r\n" + inner


def test_nested_alternatives_are_each_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each level used to read its chosen alternative twice: 2^depth reads."""
    from app.intake import parse

    reads = 0
    render = parse._render

    def counted(*args: object, **kwargs: object) -> None:
        nonlocal reads
        reads += 1
        render(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(parse, "_render", counted)
    assert parse.parse_email(nested_alternatives(12)).text == "real text"
    assert reads <= 3 * 12


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail instead of hanging: these took seconds to hours before the fixes, and take
    milliseconds now (make bench times the corpus)."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"not done in {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize(
    "raw",
    [
        b"From: " + b"a" * 16_000 + b"\r\n\r\nbody",  # a regex scanning from each letter
        (b"From: " + b"a." * 8_000 + b"\r\n") * 60 + b"\r\nbody",
        (b"Subject: " + b"=?x?b?6ek=?= x " * 1_000 + b"\r\n") * 10 + b"\r\nbody",
        b"From: a@example.com\r\nContent-Type: text/html\r\n\r\n" + b"<a" * 100_000,
    ],
    ids=["long-from", "many-long-froms", "unknown-words", "open-tags"],
)
def test_hostile_shapes_do_not_take_seconds(raw: bytes) -> None:
    with deadline(5):
        parsed = parse_email(raw)
    assert parsed.text == "body" or parsed.text.startswith("<a<a")


def test_crlf_headers_with_lf_in_the_body_keep_the_body() -> None:
    raw = (
        b"From: a@example.com\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nline one\n\nTotal : 5\r\n"
        b"--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=x.png\r\n"
        b"\r\niVBO\r\n--b--\r\n"
    )
    parsed = parse_email(raw)
    assert parsed.text == "line one\n\nTotal : 5"
    assert parsed.attachments == ["x.png"]


def test_lines_of_dashes_in_a_long_text_are_not_parts() -> None:
    body = b"".join(b"Item %d\r\n\r\n----------\r\n\r\n" % i for i in range(600)) + b"THE END\r\n"
    parsed = mail(b"From: a@example.com\r\nSubject: l\r\nContent-Type: text/plain\r\n", body)
    assert parsed.text.endswith("THE END") and not parsed.text_cut


def test_more_parts_than_are_read_are_counted_and_the_text_marked_cut() -> None:
    parts = [part(b"text/plain", b"see the screenshots")] + [
        part(b"image/png; name=shot-%d.png" % n, b"AAAA") for n in range(700)
    ]
    parsed = message(multipart("mixed", *parts))
    assert parsed.attachments[-1] == "and 600 more"  # 100 named, 600 counted
    assert parsed.text_cut


@pytest.mark.parametrize(
    ("text", "written_as"),
    [
        ("Crème brûlée", "latin-1"),
        ("Très bien, à bientôt", "latin-1"),
        ("Señor Håvard", "latin-1"),
        ("São Paulo, não", "latin-1"),
        ("тест тест", "koi8_r"),
    ],
)
def test_short_unlabelled_text_takes_the_likeliest_charset(text: str, written_as: str) -> None:
    assert mail(b"From: a@example.com\r\n", text.encode(written_as) + b"\r\n").text == text


def test_utf8_labelled_latin_text_with_stray_latin1_bytes_stays_utf8() -> None:
    raw = b"Caf\xc3\xa9 cr\xc3\xa8me, voil\xc3\xa0 r\xe9sum\xe9s ok"
    assert plain("utf-8", raw).text == "Café crème, voilà résumés ok"


@pytest.mark.parametrize("text", ["CAFÉ’S MENU", "Gruß\u00a0Hans", "Ø½ inch", "Viele Grüße"])
@pytest.mark.parametrize("label", ["utf-8", "gb2312", "big5"])
def test_correct_utf8_is_never_read_as_double_encoded(text: str, label: str) -> None:
    assert plain(label, text.encode()).text == text


def test_a_forwarded_message_sent_in_base64_is_decoded() -> None:
    inner = b"From: Ewa <ewa@example.org>\r\nSubject: Toner\r\n\r\nWe are out of toner.\r\n"
    tree = multipart(
        "mixed",
        part(b"text/plain", b"see below"),
        part(b"message/rfc822", base64.encodebytes(inner), b"Content-Transfer-Encoding: base64"),
    )
    parsed = message(tree)
    assert parsed.text == (
        f"see below\n\n{FORWARDED}\nFrom: Ewa <ewa@example.org>\nSubject: Toner\n\n"
        "We are out of toner."
    )


@pytest.mark.parametrize(
    ("raw", "address"),
    [
        (b"From: jan@example.com Jan Kowalski\r\n\r\nx", "jan@example.com"),
        (b"\xef\xbb\xbfFrom: a@example.com\r\nSubject: s\r\n\r\nbody", "a@example.com"),
        (b"\r\n\r\nFrom: a@example.com\r\nSubject: s\r\n\r\nbody", "a@example.com"),
    ],
    ids=["words-after-the-address", "byte-order-mark", "blank-lines-first"],
)
def test_the_sender_at_the_edges_of_a_header_block(raw: bytes, address: str) -> None:
    parsed = parse_email(raw)
    assert parsed.sender_email == address
    assert parsed.text in ("x", "body")


def test_a_multipart_without_a_usable_boundary_shows_its_text() -> None:
    parsed = mail(
        b"From: a@example.com\r\nContent-Type: multipart/alternative\r\n", b"Blah blah blah\r\n"
    )
    assert parsed.text == "Blah blah blah" and parsed.attachments == []
