"""The ticket state machine (SPEC 4.4)."""

from __future__ import annotations

ALLOWED: dict[str, frozenset[str]] = {
    "new": frozenset({"in_progress", "closed", "rejected"}),
    "in_progress": frozenset({"closed", "rejected"}),
    "closed": frozenset(),
    "rejected": frozenset(),
}
FINAL = frozenset(state for state, targets in ALLOWED.items() if not targets)


def can_move(from_state: str, to_state: str) -> bool:
    return to_state in ALLOWED.get(from_state, frozenset())
