"""`make bench`: how fast the project is against the ceiling of the same machine.

Everything runs in one go on one throwaway PostgreSQL (pgserver) with BENCH_TICKETS
tickets (default 1,000,000) seeded:

1. HTTP, with wrk (`-t2 -c32`, BENCH_WARMUP s of warm-up, then BENCH_SECONDS s), for
   WEB_CONCURRENCY 1 and 2: the public submit and the status link of
   `python -m app serve` (workers on) against the bare FastAPI + asyncpg ceiling app
   of bench/ceiling.py (one INSERT / one SELECT by key) served the same way, before
   and after the project (the ratio is to their mean); the manager's filtered
   ticket page and full-text search (p50/p99) at the seeded size, and again after
   the submit load has added its reports to the same board; the largest resident
   memory of any server process under that load. The submit load's reports are
   removed before the next process count.
2. Email: a BENCH_BACKLOG-mail backlog (default 1,000) in a real Dovecot, read by
   the server's worker, against imaplib fetching the same mailbox in batches of 100
   and parsing it with the standard library; the backlog's acknowledgements, sent
   (to a discarding SMTP server) after it; the latency of one new mail with IDLE.
3. Keyword routing with 10 to 10,000 keywords; mail parsing and the mail bombs.
4. EXPLAIN (ANALYZE, BUFFERS) of the ticket page's and the search's queries.

Prints each figure beside its ceiling and target, and writes the same to
bench/results/latest.md. Informative: nothing here passes or fails a build.
"""

from __future__ import annotations

import asyncio
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pgserver

from app.core.config import normalize_database_url
from bench import mail, parsing, routing, seed
from bench.ceiling import SCHEMA
from bench.load import CONNECTIONS, LoadResult, MemoryWatch, warm_then_measure
from tests.dovecot import running_dovecot
from tests.processes import PROJECT_ROOT, Server, run_cli, serve, served_env

SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "3"))
TICKETS = int(os.environ.get("BENCH_TICKETS", "1000000"))
BACKLOG = int(os.environ.get("BENCH_BACKLOG", "1000"))
IDLE_SAMPLES = int(os.environ.get("BENCH_IDLE_SAMPLES", "20"))
CONCURRENCIES = tuple(int(n) for n in os.environ.get("BENCH_CONCURRENCY", "1,2").split(","))
SECRET_KEY = "bench-secret-key-" + "x" * 40
ENCRYPTION_KEY = "YmVuY2gta2V5LWJlbmNoLWtleS1iZW5jaC1rZXktMzI="  # 32 bytes, base64
RESULTS = Path(__file__).resolve().parent / "results" / "latest.md"


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)

    def say(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)

    def row(self, *cells: object) -> None:
        self.say("| " + " | ".join(str(c) for c in cells) + " |")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Discard:
    """An SMTP server's DATA handler that takes every mail and keeps none: the bench's
    SMTP server runs on the same two cores, and parsing what it receives (as the
    tests' server does) would be counted against the project."""

    received = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.received += 1
        return "250 OK"


@contextmanager
def discarding_smtp_server() -> Iterator[tuple[str, int]]:
    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(_Discard(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield "127.0.0.1", port
    finally:
        controller.stop()


@contextmanager
def ceiling_app(dsn: str, processes: int) -> Iterator[str]:
    """bench/ceiling.py under uvicorn as `python -m app serve` runs: uvloop, httptools,
    no access log, `processes` processes."""
    port = free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "bench.ceiling:create_app", "--factory"),
            *("--host", "127.0.0.1", "--port", str(port), "--workers", str(processes)),
            *("--loop", "uvloop", "--http", "httptools", "--no-access-log"),
            *("--log-level", "warning"),
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "BENCH_CEILING_DSN": dsn},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/items/00000000-0000-0000-0000-000000000000").status_code:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(30)


# The manager's page and search are timed with a few dashboards open at once, not 32:
# at 32 connections a saturated server's p99 is its queue, whatever the query costs.
DASHBOARD_CONNECTIONS = 4


def load(
    url: str, script: str, connections: int = CONNECTIONS, *, dsn: str, **env: str
) -> LoadResult:
    """wrk's warm-up and measurement, after a `checkpoint`."""
    checkpoint(dsn)
    return warm_then_measure(
        url, script, warmup=WARMUP, seconds=SECONDS, connections=connections, **env
    )


def checkpoint(dsn: str) -> None:
    """A CHECKPOINT of the bench's database before each measured load and the ingest:
    no figure is timed while the checkpointer writes out what the seed or an earlier
    scenario wrote (a checkpoint comes five minutes after the last one, into whichever
    scenario runs then). A write load still pays its full-page images: after a
    checkpoint, the first change to each page logs the whole page."""
    asyncio.run(_execute(dsn, "CHECKPOINT"))


def access_token(base_url: str) -> str:
    answer = httpx.post(
        f"{base_url}/api/v1/auth/login",
        json={"email": seed.MANAGER_EMAIL, "password": seed.PASSWORD},
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def write_lines(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n")
    return str(path)


PAGE_FILTERS = [
    "", "state=new", "state=in_progress", "source=email", "state=closed&source=web",
]  # fmt: skip
SEARCHES = [
    "q=printer", "q=drukarka+sie%C4%87", "q=invoice+problem", "q=monit", "q=vpn&state=new",
    "q=problem+1234", "q=kabel+projektor",
]  # fmt: skip


def explain(dsn: str, board_id: int) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the dashboard's first page, filtered and searched,
    compiled from the same query builder the API uses."""
    from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    from app.core.config import normalize_database_url
    from app.core.pagination import DEFAULT_LIMIT, keyset_query
    from app.tickets.search import CommonLexemes
    from app.tickets.service import TICKET_ORDER, ticket_filter

    async def owner() -> int:
        conn = await asyncpg.connect(dsn)
        try:
            return int(await conn.fetchval("SELECT manager_id FROM boards WHERE id = $1", board_id))
        finally:
            await conn.close()

    async def common_lexemes() -> frozenset[str]:
        """What the server reads from the statistics (app/tickets/search.py)."""
        engine = create_async_engine(normalize_database_url(dsn))
        try:
            async with AsyncSession(engine) as session:
                return await CommonLexemes().get(session)
        finally:
            await engine.dispose()

    manager_id = asyncio.run(owner())
    common = asyncio.run(common_lexemes())
    plans = []
    for title, state, q in (
        ("ticket page, state=new", "new", None),
        ("search, q=printer", None, "printer"),
        ("search, q=kabel projektor", None, "kabel projektor"),
        ("search, q=problem 1234 (problem: in every ticket)", None, "problem 1234"),
    ):
        query = keyset_query(
            ticket_filter(board_id, manager_id, state=state, source=None, q=q, common=common),
            key=TICKET_ORDER,
            limit=DEFAULT_LIMIT,
            cursor=None,
        )
        compiled = query.compile(dialect=asyncpg_dialect())
        params = [compiled.params[name] for name in compiled.positiontup or ()]

        async def run(sql: str = compiled.string, params: list[object] = params) -> list[str]:
            conn = await asyncpg.connect(dsn)
            try:
                rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *params)
                return [r[0] for r in rows]
            finally:
                await conn.close()

        plans.append(f"-- {title}")
        plans.extend(asyncio.run(run()))
    return plans


def ratio(value: float, ceiling: float) -> str:
    return f"{value / ceiling:.2f}x" if ceiling else "-"


def http_scenarios(
    report: Report, dsn: str, env: dict[str, str], board_id: int, files: dict[str, str]
) -> None:
    """Per process count: the ceiling app, the project, the ceiling app again (a
    ratio is taken against the mean of the two: the ceiling's own figure moves by a
    quarter between runs on this VM); then the submit load's reports are removed, so
    each process count starts from the same seeded tickets."""
    seeded = asyncio.run(_fetchval(dsn, "SELECT max(id) FROM tickets"))
    for processes in CONCURRENCIES:
        report.say()
        report.say(f"### HTTP, WEB_CONCURRENCY={processes} (wrk -t2 -c32, {SECONDS:.0f} s)")
        report.say()
        bare_before = ceiling_loads(dsn, processes, files["items"])
        with serve(free_port(), {**env, "WEB_CONCURRENCY": str(processes)}) as server:
            server.wait_until_ready()
            auth = f"Bearer {access_token(server.base_url)}"
            with MemoryWatch(server.process.pid) as memory:
                # The dashboard at the seeded size, before the submit load adds to it.
                page, search = dashboard_loads(dsn, server.base_url, auth, files)
                submit = load(
                    server.base_url, "submit.lua", dsn=dsn,
                    BENCH_PATH=f"/api/v1/public/boards/{seed.FORM_ID}/tickets",
                )  # fmt: skip
                # The acknowledgements the reports queued are sent before the next
                # scenario, so it is not timed against the mail sender's work.
                acknowledgements, drained = drain_outbox(dsn)
                status = load(server.base_url, "paths.lua", dsn=dsn, BENCH_PATHS=files["tickets"])
                flood = asyncio.run(
                    _fetchval(dsn, "SELECT count(*) FROM tickets WHERE id > $1", seeded)
                )
                page_after, search_after = dashboard_loads(dsn, server.base_url, auth, files)
            check_server(server)
        bare_after = ceiling_loads(dsn, processes, files["items"])
        asyncio.run(remove_the_load(dsn, seeded))
        insert = (bare_before[0].rate + bare_after[0].rate) / 2
        select = (bare_before[1].rate + bare_after[1].rate) / 2
        report.row("scenario", "project", "ceiling", "ratio", "target")
        report.row("---", "---", "---", "---", "---")
        report.row(
            "public submit", f"{submit.rate:.0f} req/s, p99 {submit.p99_ms:.0f} ms"
            + failures(submit),
            f"{insert:.0f} req/s (INSERT: {bare_before[0].rate:.0f} before, "
            f"{bare_after[0].rate:.0f} after)",
            ratio(submit.rate, insert), "≥ 0.5x",
        )  # fmt: skip
        report.row(
            "acknowledgements queued by the submit load, sent after it",
            f"{acknowledgements:,} in {drained:.0f} s ({acknowledgements / drained:.0f}/s)"
            if drained else f"{acknowledgements:,}", "-", "-", "-",
        )  # fmt: skip
        report.row(
            "status link", f"{status.rate:.0f} req/s, p99 {status.p99_ms:.0f} ms"
            + failures(status),
            f"{select:.0f} req/s (SELECT: {bare_before[1].rate:.0f} before, "
            f"{bare_after[1].rate:.0f} after)",
            ratio(status.rate, select), "≥ 0.7x",
        )  # fmt: skip
        for name, seeded_load, after in (
            ("ticket page", page, page_after),
            ("full-text search", search, search_after),
        ):
            report.row(
                f"{name} ({TICKETS:,} tickets, {DASHBOARD_CONNECTIONS} connections)",
                latency(seeded_load), "-", "-", "p99 ≤ 50 ms",
            )  # fmt: skip
            report.row(
                f"{name} after the submit load (+{flood:,} reports on the board, "
                "not vacuumed yet)",
                latency(after), "-", "-", "-",
            )  # fmt: skip
        report.row(
            "resident memory, largest process",
            f"{memory.peak:.0f} MB ({memory.peak_role})",
            "-",
            "-",
            "≤ 200 MB",
        )


def ceiling_loads(dsn: str, processes: int, items: str) -> tuple[LoadResult, LoadResult]:
    """The ceiling app's INSERT and SELECT by key (`items`: the file of its paths)."""
    with ceiling_app(dsn, processes) as url:
        bare_insert = load(f"{url}/items", "submit.lua", dsn=dsn, BENCH_PATH="/items")
        bare_select = load(url, "paths.lua", dsn=dsn, BENCH_PATHS=items)
    return bare_insert, bare_select


def dashboard_loads(dsn: str, base_url: str, auth: str, files: dict[str, str]) -> list[LoadResult]:
    """The manager's ticket page (filtered) and search, a few dashboards at once."""
    return [
        load(
            base_url,
            "paths.lua",
            DASHBOARD_CONNECTIONS,
            dsn=dsn,
            BENCH_PATHS=files[name],
            BENCH_AUTH=auth,
        )
        for name in ("page", "search")
    ]


def latency(result: LoadResult) -> str:
    return (
        f"{result.rate:.0f} req/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms"
        + failures(result)
    )


async def _fetchval(dsn: str, sql: str, *args: object) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


async def remove_the_load(dsn: str, seeded: int) -> None:
    """The submit load's reports, their history and mail removed, and the table
    vacuumed: the next process count is measured on the same seeded tickets."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DELETE FROM tickets WHERE id > $1", seeded)  # history cascades
        await conn.execute("DELETE FROM outgoing_emails")
        await conn.execute("VACUUM ANALYZE tickets, ticket_status_changes, outgoing_emails")
    finally:
        await conn.close()


def drain_outbox(dsn: str, deadline: float = 600) -> tuple[int, float]:
    """Wait until the server's mail sender has sent every pending mail; how many it
    sent and how long that took."""

    pending = "SELECT count(*) FROM outgoing_emails WHERE status = 'pending'"
    started = time.monotonic()
    queued = left = asyncio.run(_fetchval(dsn, pending))
    while left and time.monotonic() - started < deadline:
        time.sleep(0.5)
        left = asyncio.run(_fetchval(dsn, pending))
    if left:
        print(f"{left} mails still pending after {deadline:.0f} s", flush=True)
    return queued - left, time.monotonic() - started if queued else 0.0


def failures(result: LoadResult) -> str:
    return f" ({result.failed} failed)" if result.failed else ""


def check_server(server: Server) -> None:
    """A server that logged an error under load has not done the work it was timed on."""
    output = server.stop()
    errors = [line for line in output.splitlines() if '"level": "ERROR"' in line]
    if errors:
        print(f"the server logged {len(errors)} errors under load, e.g.:\n{errors[0]}")


def mail_scenarios(
    report: Report, env: dict[str, str], url: str, dsn: str, smtp: tuple[str, int]
) -> None:
    report.say()
    report.say(f"### Email ingest ({BACKLOG:,}-mail backlog in Dovecot)")
    report.say()
    report.row("scenario", "project", "ceiling", "ratio", "target")
    report.row("---", "---", "---", "---", "---")
    with running_dovecot(free_port()) as dovecot:
        for processes in CONCURRENCIES:
            login, password = dovecot.add_user()
            bare_idle = mail.idle_ceiling(dovecot, login, password, IDLE_SAMPLES)
            login, password = dovecot.add_user()
            with serve(free_port(), {**env, "WEB_CONCURRENCY": str(processes)}) as server:
                server.wait_until_ready()
                mail.fill(dovecot, login, password, BACKLOG)
                bare = mail.ceiling_rate(dovecot, login, password)
                checkpoint(dsn)
                with MemoryWatch(server.process.pid) as memory:
                    inbox_id, rate = mail.project_rate(
                        url, dovecot, login, password, key=ENCRYPTION_KEY, count=BACKLOG,
                        name=f"Ingest {processes}", smtp=smtp,
                    )  # fmt: skip
                # The backlog's acknowledgements go out once it is read: sent before the
                # IDLE samples, so neither they nor the next ingest share the machine
                # with them.
                acknowledgements, drained = drain_outbox(dsn)
                latencies = mail.idle_latencies(
                    url, dovecot, login, password, inbox_id, IDLE_SAMPLES
                )
                check_server(server)
            report.row(
                f"ingest, WEB_CONCURRENCY={processes}", f"{rate:.0f} emails/s",
                f"{bare:.0f} emails/s (imaplib batches of 100 + email parse)",
                ratio(rate, bare), "≥ 0.5x",
            )  # fmt: skip
            report.row(
                f"acknowledgements of the backlog, sent after it, WEB_CONCURRENCY={processes}",
                f"{acknowledgements:,} in {drained:.1f} s ({acknowledgements / drained:.0f}/s)"
                if drained else f"{acknowledgements:,}", "-", "-", "-",
            )  # fmt: skip
            report.row(
                f"APPEND → ticket with IDLE, WEB_CONCURRENCY={processes}",
                f"p50 {mail.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms",
                f"p50 {mail.median(bare_idle) * 1000:.0f} ms (aioimaplib IDLE push alone)",
                f"+{(mail.median(latencies) - mail.median(bare_idle)) * 1000:.0f} ms",
                "p50 ≤ 0.5 s",
            )  # fmt: skip
            report.row(
                f"resident memory while ingesting, WEB_CONCURRENCY={processes}",
                f"{memory.peak:.0f} MB ({memory.peak_role})", "-", "-", "≤ 200 MB",
            )  # fmt: skip


def routing_scenario(report: Report) -> None:
    report.say()
    report.say("### Keyword routing (one mail, 100 boards)")
    report.say()
    report.row("keywords", "time per mail", "vs 10 keywords")
    report.row("---", "---", "---")
    base = routing.seconds_per_mail(10)
    for count in (10, 1_000, 10_000):
        took = routing.seconds_per_mail(count)
        report.row(f"{count:,}", f"{took * 1e6:.0f} µs", f"{took / base:.1f}x")


def parsing_scenario(report: Report) -> None:
    count, pipeline, bare, (slowest, slowest_name) = parsing.mail_rates()
    report.say()
    report.say(f"### Mail parsing alone ({count} messages, one core)")
    report.say()
    report.row("measure", "msg/s", "vs ceiling")
    report.row("---", "---", "---")
    report.row("ceiling: email.message_from_bytes", f"{bare:.0f}", "1.00x")
    report.row("parse_email + classify", f"{pipeline:.0f}", ratio(pipeline, bare))
    report.say()
    report.say(
        f"Slowest message: {slowest * 1000:.0f} ms (`{slowest_name}`; target ≤ 50 ms). "
        "Fidelity: `python -m bench.fidelity` (docs/email.md)."
    )
    report.say()
    report.row("mail bomb (tests/intake/bombs.py)", "parse_email", "bare standard library")
    report.row("---", "---", "---")
    for name, parsed, bare_parse in parsing.bomb_times():
        report.row(name, f"{parsed * 1000:.0f} ms", f"{bare_parse * 1000:.0f} ms")


def machine(dsn: str) -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        line.split()[1]
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )

    async def version() -> str:
        conn = await asyncpg.connect(dsn)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    return [
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- CPU: {os.cpu_count()} × {cpu}",
        f"- memory: {int(memory) // 1024:,} MB",
        f"- Python {platform.python_version()}, PostgreSQL {asyncio.run(version())} "
        f"(embedded pgserver), {wrk_version.split(' [')[0].strip()}",
        f"- tickets seeded: {TICKETS:,}; wrk -t2 -c32, {WARMUP:.0f} s warm-up, "
        f"{SECONDS:.0f} s measured",
        *_scheduler(),
    ]


def main() -> None:
    report = Report()
    with tempfile.TemporaryDirectory() as tmp:
        server = pgserver.get_server(Path(tmp) / "pg", cleanup_mode="delete")
        try:
            url = server.get_uri()
            dsn = re.sub(r"^postgresql\+\w+://", "postgresql://", url)
            with discarding_smtp_server() as smtp:
                env = served_env(
                    database_url=url,
                    data_dir=tmp,
                    secret_key=SECRET_KEY,
                    encryption_key=ENCRYPTION_KEY,
                    smtp=smtp,
                )
                migrated = run_cli("migrate", env=env)
                assert migrated.returncode == 0, migrated.stderr
                asyncio.run(_execute(dsn, SCHEMA))
                print(f"seeding {TICKETS:,} tickets…", flush=True)
                started = time.perf_counter()
                ids = asyncio.run(seed.seed(dsn, TICKETS))
                print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
                tickets, items = asyncio.run(seed.sample_uuids(dsn, 20_000))
                board = ids["board_id"]
                files = {
                    "tickets": write_lines(
                        Path(tmp) / "tickets.txt", [f"/api/v1/public/tickets/{u}" for u in tickets]
                    ),
                    "items": write_lines(Path(tmp) / "items.txt", [f"/items/{u}" for u in items]),
                    "page": write_lines(
                        Path(tmp) / "page.txt",
                        [f"/api/v1/boards/{board}/tickets?{f}" for f in PAGE_FILTERS],
                    ),
                    "search": write_lines(
                        Path(tmp) / "search.txt",
                        [f"/api/v1/boards/{board}/tickets?{q}" for q in SEARCHES],
                    ),
                }
                report.say("# make bench: latest results")
                report.say()
                for line in machine(dsn):
                    report.say(line)
                http_scenarios(report, dsn, env, board, files)
                mail_scenarios(report, env, normalize_database_url(url), dsn, smtp)
                plans = explain(dsn, board)
        finally:
            server.cleanup()
    routing_scenario(report)
    parsing_scenario(report)
    report.say()
    report.say("### Query plans at the seeded size")
    report.say()
    report.say("```")
    for line in plans:
        report.say(line)
    report.say("```")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(report.lines) + "\n")
    print(f"\nwritten to {RESULTS.relative_to(PROJECT_ROOT)}")


def _scheduler() -> list[str]:
    """Whether the kernel schedules sessions as CPU groups (autogroup). It decides
    the two-process tails: PostgreSQL, a session of its own, went without CPU for
    0.1–1 s at a time with it on, never with it off (docs/performance.md)."""
    setting = Path("/proc/sys/kernel/sched_autogroup_enabled")
    if not setting.exists():
        return []
    state = "on" if setting.read_text().strip() == "1" else "off"
    return [f"- kernel: autogroup scheduling {state} (`kernel.sched_autogroup_enabled`)"]


async def _execute(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
