"""Keyword routing: whole words, any case, subject before body."""

from __future__ import annotations

from app.boards.routing import Candidate, route_email

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
