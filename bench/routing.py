"""Keyword routing: the time to route one mail as a manager's keywords grow."""

from __future__ import annotations

import time

from app.boards.routing import Candidate, route_email

BOARDS = 100


def candidates(keywords: int) -> list[Candidate]:
    """`keywords` distinct keywords over 100 boards; "printer" is one of board 0's."""
    per_board = max(1, keywords // BOARDS)
    boards = []
    for b in range(BOARDS):
        words = tuple(f"topic{b}x{k}" for k in range(per_board))
        if b == 0:
            words = ("printer", *words[1:])
        boards.append(Candidate(b + 1, f"Board {b}", words))
    return boards


def seconds_per_mail(keywords: int, mails: int = 200, repeats: int = 5) -> float:
    """The best of `repeats` runs of `mails` routings (as `timeit` reports): one run
    lasts some 20-40 ms, and a single pause of the machine (another process, the
    collector) in it would be read as the cost of the keywords."""
    boards = candidates(keywords)
    subject = "The printer on floor 3 jams"
    body = ("Since Monday every second page gets stuck in the tray. " * 40).strip()
    route_email(subject, body, boards)  # compile and cache outside the timing
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(mails):
            route = route_email(subject, body, boards)
        runs.append((time.perf_counter() - started) / mails)
        assert route.board_id == 1
    return min(runs)
