"""Mail parsing alone: the corpus through the pipeline against the standard library's
bare parse, and each mail bomb's parse time."""

from __future__ import annotations

import time
from pathlib import Path


def mail_rates() -> tuple[int, float, float, tuple[float, str]]:
    """(messages, parsed per second by the pipeline, by the bare standard library,
    (seconds, name) of the message the pipeline took longest over)."""
    import email
    import email.policy

    from app.intake.classify import classify
    from app.intake.parse import parse_email

    root = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "mail"
    if not root.is_dir():
        root = Path(__file__).resolve().parents[1] / "tests" / "intake" / "samples"
    files = [
        (p.relative_to(root).as_posix(), p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in ("PROVENANCE.md", ".gitattributes")
    ]
    started = time.perf_counter()
    for _, raw in files:
        email.message_from_bytes(raw, policy=email.policy.default)
    ceiling = len(files) / (time.perf_counter() - started)
    slowest = (0.0, "")
    started = time.perf_counter()
    for name, raw in files:
        before = time.perf_counter()
        classify(parse_email(raw))
        slowest = max(slowest, (time.perf_counter() - before, name))
    pipeline = len(files) / (time.perf_counter() - started)
    return len(files), pipeline, ceiling, slowest


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
