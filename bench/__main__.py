"""`make bench`: measure the service against a ceiling on the same machine.

1. HTTP: starts `python -m app serve` on a throwaway embedded PostgreSQL and times
   `/health` (no database) and `/ready` (one `SELECT 1`) over loopback HTTP, against
   the ceiling of a bare asyncpg `SELECT 1` loop on the same server.
2. Mail parsing: the shared corpus (or the project's samples) through
   `parse_email` + `classify`, against the ceiling of the standard library's
   `email.message_from_bytes` alone; and each mail bomb of tests/intake/bombs.py,
   against the standard library's bare parse of the same bytes.

Prints rates and their ratio to the ceiling. Informative only: nothing here passes
or fails.
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
import pgserver

from tests.processes import cli_env, serve

REQUESTS = 2000
CONCURRENCY = 10


async def _http_rate(url: str) -> float:
    async with httpx.AsyncClient() as client:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(REQUESTS):
            queue.put_nowait(i)

        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                (await client.get(url)).raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return REQUESTS / (time.perf_counter() - started)


async def _ceiling_rate(socket_dir: str) -> float:
    pool = await asyncpg.create_pool(
        host=socket_dir, user="postgres", database="postgres", max_size=CONCURRENCY
    )
    try:

        async def worker(n: int) -> None:
            for _ in range(n):
                await pool.fetchval("SELECT 1")

        started = time.perf_counter()
        await asyncio.gather(*(worker(REQUESTS // CONCURRENCY) for _ in range(CONCURRENCY)))
        return REQUESTS / (time.perf_counter() - started)
    finally:
        await pool.close()


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


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = pgserver.get_server(Path(tmp) / "pg", cleanup_mode="delete")
        try:
            url = server.get_uri()
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            env = cli_env(DATABASE_URL=url, DATA_DIR=tmp, LOG_LEVEL="WARNING")
            with serve(port, env) as app:
                app.wait_until_ready()
                health = asyncio.run(_http_rate(f"{app.base_url}/health"))
                ready = asyncio.run(_http_rate(f"{app.base_url}/ready"))
            ceiling = asyncio.run(_ceiling_rate(str(Path(tmp) / "pg")))
        finally:
            server.cleanup()
    print(f"{'measure':<34}{'req/s':>10}{'vs ceiling':>12}")
    print(f"{'ceiling: asyncpg SELECT 1':<34}{ceiling:>10.0f}{1:>12.2f}")
    print(f"{'GET /ready (SELECT 1 over HTTP)':<34}{ready:>10.0f}{ready / ceiling:>12.2f}")
    print(f"{'GET /health (no database)':<34}{health:>10.0f}{health / ceiling:>12.2f}")
    count, pipeline, bare = mail_rates()
    print()
    print(f"{'mail parsing (' + str(count) + ' messages)':<34}{'msg/s':>10}{'vs ceiling':>12}")
    print(f"{'ceiling: email.message_from_bytes':<34}{bare:>10.0f}{1:>12.2f}")
    print(f"{'parse_email + classify':<34}{pipeline:>10.0f}{pipeline / bare:>12.2f}")
    print()
    print(f"{'mail bombs (tests/intake/bombs.py)':<34}{'ms':>10}{'bare ms':>12}")
    for name, parsed, bare_parse in bomb_times():
        print(f"{'parse_email: ' + name:<34}{parsed * 1000:>10.0f}{bare_parse * 1000:>12.0f}")


if __name__ == "__main__":
    main()
