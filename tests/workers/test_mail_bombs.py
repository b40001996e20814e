"""Mail bombs through a real worker process and Dovecot: each is recorded, the mail after
them still becomes a ticket, and the worker's resident memory grows by no more than
100 MB while it reads them."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from tests.dovecot import Dovecot
from tests.intake import bombs
from tests.processes import cli_env
from tests.workers.helpers import query, seed_dovecot_inbox, wait_until, worker

KEY = base64.b64encode(os.urandom(32)).decode()
MEMORY_GROWTH_MAX = 100 * 1024 * 1024
MAX_MESSAGE_BYTES = 25 * 1024 * 1024


def ordinary(name: str) -> bytes:
    return (
        f"From: Reporter <{name}@example.org>\r\nSubject: printer {name}\r\n"
        f"Message-ID: <{name}@example.org>\r\n\r\nThe printer is jammed.\r\n"
    ).encode()


def memory_kib(pid: int, field: str) -> int:
    """`VmRSS` (resident now) or `VmHWM` (the peak) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"{field} missing from /proc/{pid}/status")


def processed(database: str) -> int:
    return int(query(database, "SELECT count(*) FROM processed_emails")[0][0])


def test_mail_bombs_are_read_within_bounded_memory_and_stop_nothing(
    database: str, dovecot: Dovecot, tmp_path: Path
) -> None:
    login, password = dovecot.add_user()
    # Acknowledgements go to a closed port and wait in the outbox: not this test's concern.
    seed_dovecot_inbox(database, dovecot, login, password, key=KEY, manager="bombs@example.com")
    dovecot.append(login, password, ordinary("warm-up"))
    env = cli_env(
        DATABASE_URL=database,
        DATA_DIR=str(tmp_path),
        SECRET_KEY=secrets.token_urlsafe(40),
        ENCRYPTION_KEY=KEY,
        MAX_MESSAGE_BYTES=str(MAX_MESSAGE_BYTES),
    )
    with worker(env) as running:
        pid = running.process.pid
        # Everything a message's path imports is loaded once the first mail is a ticket.
        wait_until(lambda: processed(database) == 1, deadline=60, what="the first mail")
        baseline = memory_kib(pid, "VmRSS") * 1024

        # Delivered while the worker waits in IDLE: it reads them as they come.
        for build in bombs.BOMBS.values():
            dovecot.append(login, password, build())
        dovecot.append(login, password, ordinary("oversized") + b"x" * MAX_MESSAGE_BYTES)
        dovecot.append(login, password, ordinary("after"))
        expected = 1 + len(bombs.BOMBS) + 2
        wait_until(
            lambda: processed(database) == expected or running.process.poll() is not None,
            deadline=180,
            what="every message recorded",
        )
        assert running.process.poll() is None, running.output()
        growth = memory_kib(pid, "VmHWM") * 1024 - baseline

    assert growth <= MEMORY_GROWTH_MAX, f"resident memory grew by {growth / 2**20:.0f} MB"
    tickets = dict(query(database, "SELECT reporter_email, title FROM tickets"))
    assert tickets["after@example.org"] == "printer after"
    for name in bombs.BOMBS:
        assert tickets[f"bomb-{name}@example.org"] == "printer bomb"
    [(reason,)] = query(database, "SELECT reason FROM standby_queue_items")
    assert reason == "too_large"
    assert query(database, "SELECT last_error FROM email_inboxes") == [(None,)]
