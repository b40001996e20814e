"""Keyword routing: whole words, any case, subject before body."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.boards.routing import Candidate, KeywordIndex, matches, route_email

PRINTERS = Candidate(1, "Printers", ("printer", "drukarka"))
NETWORK = Candidate(2, "Network", ("wifi", "VPN access"))
BOARDS = [PRINTERS, NETWORK]


def test_one_board_matches() -> None:
    route = route_email("Printer jams", "paper everywhere", BOARDS)
    assert (route.board_id, route.reason) == (1, None)


def test_case_and_polish_letters_are_ignored_in_case() -> None:
    assert route_email("DRUKARKA", "", BOARDS).board_id == 1
    assert route_email("x", "the vpn ACCESS fails", BOARDS).board_id == 2


def test_a_word_that_only_contains_a_keyword_does_not_match() -> None:
    route = route_email("Printers and wifimax", "reprinter", BOARDS)
    assert (route.board_id, route.reason) == (None, "no_match")


def test_punctuation_counts_as_a_word_boundary() -> None:
    assert route_email("(printer)", "", BOARDS).board_id == 1
    assert route_email("printer's tray", "", BOARDS).board_id == 1


def test_the_subject_decides_between_several() -> None:
    route = route_email("WiFi is down", "and the printer too", BOARDS)
    assert route.board_id == 2
    assert {c.board_id for c in route.candidates} == {1, 2}


def test_several_without_a_single_subject_match_are_ambiguous() -> None:
    both_in_body = route_email("Help", "printer and wifi", BOARDS)
    assert (both_in_body.board_id, both_in_body.reason) == (None, "ambiguous")
    both_in_subject = route_email("printer wifi", "", BOARDS)
    assert both_in_subject.reason == "ambiguous"
    assert {c.name for c in both_in_subject.candidates} == {"Printers", "Network"}


def test_no_boards_no_match() -> None:
    assert route_email("printer", "", []).reason == "no_match"


# The index must answer exactly what searching the text for every keyword answers.
_PIECES = st.sampled_from(
    ["printer", "Printer", "PRINTER", "drukarka", "Żółw", "żółw", "ß", "ss", "ſ", "s", "a1",
     "_", "-", ".", "#", " ", "\n", "net", ".net", "(", "'", "é", "e\u0301", "K", "\u212a", "k"]
)  # fmt: skip
_TEXT = st.lists(_PIECES, max_size=12).map("".join)


def _naive(text: str, boards: list[Candidate]) -> set[int]:
    return {b.board_id for b in boards if any(k and matches(k, text) for k in b.keywords)}


@settings(max_examples=400, deadline=None)
@given(
    keywords=st.lists(st.lists(_TEXT.filter(str.strip), min_size=1, max_size=4), max_size=4),
    text=_TEXT,
)
def test_the_keyword_index_finds_what_a_search_per_keyword_finds(
    keywords: list[list[str]], text: str
) -> None:
    boards = [Candidate(i + 1, f"B{i}", tuple(k)) for i, k in enumerate(keywords)]
    index = KeywordIndex.of(boards)
    assert {boards[i].board_id for i in index.matching(text)} == _naive(text, boards)


def test_routing_among_ten_thousand_keywords_finds_the_one_that_matches() -> None:
    boards = [
        Candidate(b, f"Board {b}", tuple(f"topic{b}x{k}" for k in range(100))) for b in range(100)
    ]
    boards[42] = Candidate(42, "Printers", (*boards[42].keywords, "paper jam"))
    route = route_email("Help", "there is a PAPER JAM again; topic7x3000 is not a keyword", boards)
    assert route.board_id == 42
    assert route_email("topic7x99 and topic8x0", "", boards).reason == "ambiguous"
