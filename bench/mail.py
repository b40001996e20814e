"""Email ingest: a backlog in Dovecot read by the project, against the ceiling of
fetching the same mailbox in batches with imaplib and parsing it with the standard
library; and the latency of one new mail while the worker sits in IMAP IDLE."""

from __future__ import annotations

import asyncio
import email
import email.policy
import imaplib
import re
import statistics
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import asyncpg

from tests.dovecot import Dovecot
from tests.workers.helpers import seed_dovecot_inbox

FETCH_BATCH = 100
WORDS = "printer toner paper jam tray cartridge driver queue scan colour".split()


def message(n: int) -> bytes:
    """A plausible report: every fourth a multipart with an HTML part, all about the
    printer (the bench board's keyword), each from its own sender."""
    mail = EmailMessage()
    mail["From"] = f"Reporter {n} <reporter{n}@example.org>"
    mail["To"] = "help@example.com"
    mail["Subject"] = f"The printer on floor {n % 12} shows a {WORDS[n % len(WORDS)]} error"
    mail["Message-ID"] = make_msgid(f"bench{n}", "example.org")
    mail["Date"] = format_datetime(datetime.now(UTC))
    body = (
        f"Hello,\n\nsince this morning the printer in room {n % 500} stops with a "
        f"{WORDS[(n // 3) % len(WORDS)]} message after two pages.\n" * 3 + "\nThanks,\nReporter\n"
    )
    mail.set_content(body)
    if n % 4 == 0:
        html = body.replace("\n", "<br>")
        mail.add_alternative(f"<html><body><p>{html}</p></body></html>", subtype="html")
    return bytes(mail)


def fill(dovecot: Dovecot, login: str, password: str, count: int, start: int = 0) -> None:
    """APPEND `count` messages over one connection."""
    client = imaplib.IMAP4(dovecot.host, dovecot.port)
    client.login(login, password)
    try:
        for n in range(start, start + count):
            status, data = client.append("INBOX", None, None, message(n))
            assert status == "OK", data
    finally:
        client.logout()


def ceiling_rate(dovecot: Dovecot, login: str, password: str) -> float:
    """Messages per second: UID FETCH BODY.PEEK[] in batches of 100 with imaplib, each
    message parsed by email.message_from_bytes (nothing is flagged)."""
    started = time.perf_counter()
    client = imaplib.IMAP4(dovecot.host, dovecot.port)
    client.login(login, password)
    try:
        client.select("INBOX", readonly=True)
        _, data = client.uid("SEARCH", "ALL")
        uids = data[0].split()
        parsed = 0
        for i in range(0, len(uids), FETCH_BATCH):
            batch = b",".join(uids[i : i + FETCH_BATCH]).decode()
            _, items = client.uid("FETCH", batch, "(BODY.PEEK[])")
            for item in items:
                if isinstance(item, tuple):
                    email.message_from_bytes(item[1], policy=email.policy.default)
                    parsed += 1
    finally:
        client.logout()
    assert parsed == len(uids), (parsed, len(uids))
    return parsed / (time.perf_counter() - started)


# How often the bench looks for the mails' outcomes. Each look is one small query on
# a connection kept open: looking costs the machine it measures next to nothing.
POLL_SECONDS = 0.01


class Processed:
    """The `processed_emails` of an inbox, counted over one open connection."""

    def __init__(self, url: str) -> None:
        self._runner = asyncio.Runner()
        dsn = re.sub(r"^postgresql\+\w+://", "postgresql://", url)
        self._connection = self._runner.run(asyncpg.connect(dsn))

    def __enter__(self) -> Processed:
        return self

    def __exit__(self, *exc: object) -> None:
        self._runner.run(self._connection.close())
        self._runner.close()

    def execute(self, sql: str, *args: Any) -> None:
        self._runner.run(self._connection.execute(sql, *args))

    def count(self, inbox_id: int) -> int:
        found = self._runner.run(
            self._connection.fetchval(
                "SELECT count(*) FROM processed_emails WHERE email_inbox_id = $1", inbox_id
            )
        )
        return int(found)

    def wait_for(self, inbox_id: int, count: int, deadline: float) -> None:
        """Until `count` messages of the inbox were processed."""
        started = time.perf_counter()
        while (done := self.count(inbox_id)) < count:
            if time.perf_counter() - started > deadline:
                raise AssertionError(f"only {done} of {count} processed in {deadline} s")
            time.sleep(POLL_SECONDS)


def project_rate(
    url: str,
    dovecot: Dovecot,
    login: str,
    password: str,
    *,
    key: str,
    count: int,
    name: str,
    smtp: tuple[str, int],
) -> tuple[int, float]:
    """(inbox id, messages per second): the running server's worker reads the backlog
    from the moment the inbox becomes due (made with its board and keyword, not yet
    due: the worker starts at once when it is) until every message has its outcome.
    The inbox answers through `smtp`, which takes the acknowledgements."""
    inbox_id = seed_dovecot_inbox(
        url, dovecot, login, password, key=key, manager="bench@example.com", name=name,
        due=False, smtp=smtp,
    )  # fmt: skip
    with Processed(url) as processed:
        started = time.perf_counter()
        processed.execute("UPDATE email_inboxes SET next_poll_at = now() WHERE id = $1", inbox_id)
        processed.wait_for(inbox_id, count, deadline=600)
        return inbox_id, count / (time.perf_counter() - started)


def idle_latencies(
    url: str, dovecot: Dovecot, login: str, password: str, inbox_id: int, samples: int
) -> list[float]:
    """Seconds from each APPEND to its processed row, one message at a time, while the
    worker waits in IDLE."""
    with Processed(url) as processed:
        done = processed.count(inbox_id)
        # Let the session settle into IDLE after the backlog.
        time.sleep(1.0)
        latencies = []
        for n in range(samples):
            started = time.perf_counter()
            fill(dovecot, login, password, 1, start=100_000 + n)
            done += 1
            processed.wait_for(inbox_id, done, deadline=60)
            latencies.append(time.perf_counter() - started)
        return latencies


def median(values: list[float]) -> float:
    return statistics.median(values)


def idle_ceiling(dovecot: Dovecot, login: str, password: str, samples: int) -> list[float]:
    """Seconds from each APPEND until Dovecot pushes EXISTS to a bare aioimaplib client
    waiting in IDLE: the least any IMAP client can see (Dovecot itself waits about
    half a second before it notifies)."""
    import asyncio

    import aioimaplib

    async def measure() -> list[float]:
        client = aioimaplib.IMAP4(dovecot.host, dovecot.port)
        await client.wait_hello_from_server()
        await client.login(login, password)
        await client.select("INBOX")
        loop = asyncio.get_running_loop()
        latencies = []
        try:
            for n in range(samples):
                idle = await client.idle_start(timeout=60)
                started = time.perf_counter()
                await loop.run_in_executor(None, fill, dovecot, login, password, 1, 200_000 + n)
                await client.wait_server_push(timeout=30)
                latencies.append(time.perf_counter() - started)
                client.idle_done()
                await asyncio.wait_for(idle, 10)
        finally:
            await client.logout()
        return latencies

    return asyncio.run(measure())
