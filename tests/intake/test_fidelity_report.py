"""`python -m bench.fidelity` counts what it says it counts."""

from __future__ import annotations

from pathlib import Path

from bench.fidelity import main, report, run

CLEAN = b"From: Ola <ola@example.org>\r\nSubject: Printer\r\n\r\nIt jams.\r\n"
# The source itself spells mojibake and U+FFFD (mixed with real UTF-8, so no decoding
# undoes it); its From names nobody a reply could reach, so no sender is expected.
MOJIBAKE = (
    "From: Printer Room\r\nSubject: Drukarka\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    "Zaż\u00c3\u00b3\u0142\u0107 \u00e2\u20ac\u2122 broken \ufffd\r\n"
).encode()


def test_the_report_counts_each_check_per_corpus_and_in_total(tmp_path: Path) -> None:
    for corpus, files in {"alpha": {"clean.eml": CLEAN}, "beta": {"bad.eml": MOJIBAKE}}.items():
        (tmp_path / corpus).mkdir()
        for name, raw in files.items():
            (tmp_path / corpus / name).write_bytes(raw)
    tallies = run(tmp_path)
    assert tallies["alpha"].messages == 1 and sum(tallies["alpha"].counts.values()) == 0
    assert dict(tallies["beta"].counts) == {"mojibake": 1, "U+FFFD": 1}
    text = report(tallies)
    assert "| **total** | **2** | **0** | **0** | **0** | **0** | **1** | **1** | **0** |" in text
    assert "mojibake: `beta/bad.eml`" in text


def test_without_a_corpus_it_says_so_and_fails(tmp_path: Path) -> None:
    assert main([str(tmp_path / "missing")]) == 2
