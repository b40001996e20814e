"""Mail parsing alone: the corpus through the pipeline against the standard library's
bare parse, and each mail bomb's parse time."""

from __future__ import annotations

import time
from pathlib import Path


def mail_rates() -> tuple[int, float, float]:
    """(messages, parsed per second by the pipeline, by the bare standard library)."""
    import email
    import email.policy

    from app.intake.classify import classify
    from app.intake.parse import parse_email

    root = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "mail"
    if not root.is_dir():
        root = Path(__file__).resolve().parents[1] / "tests" / "intake" / "samples"
    raws = [
        p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in ("PROVENANCE.md", ".gitattributes")
    ]
    started = time.perf_counter()
    for raw in raws:
        email.message_from_bytes(raw, policy=email.policy.default)
    ceiling = len(raws) / (time.perf_counter() - started)
    started = time.perf_counter()
    for raw in raws:
        classify(parse_email(raw))
    pipeline = len(raws) / (time.perf_counter() - started)
    return len(raws), pipeline, ceiling


def bomb_times() -> list[tuple[str, float, float]]:
    """(bomb, seconds to parse_email it, seconds for the standard library's bare parse
    of the same bytes) for each hostile message of tests/intake/bombs.py."""
    import email
    import email.policy

    from app.intake.parse import parse_email
    from tests.intake.bombs import BOMBS

    times = []
    for name, build in BOMBS.items():
        raw = build()
        started = time.perf_counter()
        email.message_from_bytes(raw, policy=email.policy.compat32)
        bare = time.perf_counter() - started
        started = time.perf_counter()
        parse_email(raw)
        times.append((name, time.perf_counter() - started, bare))
    return times
