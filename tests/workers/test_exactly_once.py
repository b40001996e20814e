"""Exactly once, proven with SIGKILL: the worker is killed at each step of handling an
email, restarted, and every email still becomes exactly one record and gets at most
one acknowledgement (SPEC 4.3)."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

import pytest

from tests.dovecot import Dovecot
from tests.processes import cli_env
from tests.smtp import SmtpServer
from tests.workers.helpers import query, seed_dovecot_inbox, wait_until, worker

KEY = base64.b64encode(os.urandom(32)).decode()
FAILPOINTS = [
    "ingest.before_commit",  # fetched, nothing written yet
    "ingest.before_commit:2",  # the first of a fresh inbox's backlog done, the next not
    "ingest.after_commit",  # ticket and record committed, not yet \Seen
    "ingest.after_seen",  # \Seen set, position not yet saved
    "mail.before_send",  # acknowledgement about to go out
    "mail.after_send",  # acknowledgement sent, not yet recorded
]


def message(number: int) -> bytes:
    return (
        f"From: Reporter {number} <r{number}@example.org>\r\nTo: help@example.com\r\n"
        f"Subject: Printer problem {number}\r\nMessage-ID: <crash-{number}@example.org>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\nThe printer fails ({number}).\r\n"
    ).encode()


@pytest.mark.parametrize("failpoint", FAILPOINTS)
def test_a_killed_worker_loses_nothing_and_doubles_nothing(
    failpoint: str,
    database: str,
    dovecot: Dovecot,
    smtp_server: SmtpServer,
    tmp_path: Path,
) -> None:
    login, password = dovecot.add_user()
    seed_dovecot_inbox(
        database,
        dovecot,
        login,
        password,
        key=KEY,
        manager="crash@example.com",
        smtp=(smtp_server.host, smtp_server.port),
    )
    for number in range(3):
        dovecot.append(login, password, message(number))
    env = cli_env(
        DATABASE_URL=database,
        DATA_DIR=str(tmp_path),
        SECRET_KEY=secrets.token_urlsafe(40),
        ENCRYPTION_KEY=KEY,
        WORKER_LEASE_SECONDS="3",
    )

    with worker(env | {"APP_FAILPOINT": failpoint}) as doomed:
        doomed.process.wait(timeout=60)
        assert doomed.process.returncode == -9, doomed.output()  # it died at the failpoint

    with worker(env) as survivor:
        wait_until(
            lambda: (
                all("\\Seen" in f for f in dovecot.flags(login, password).values())
                and query(database, "SELECT count(*) FROM processed_emails")[0][0] == 3
                and not query(database, "SELECT 1 FROM outgoing_emails WHERE status = 'pending'")
            ),
            what="all mail handled",
        )
        assert survivor.process.poll() is None

    assert query(database, "SELECT count(*) FROM processed_emails")[0][0] == 3
    tickets = query(database, "SELECT title FROM tickets ORDER BY title")
    assert [t for (t,) in tickets] == [f"Printer problem {n}" for n in range(3)]
    assert query(database, "SELECT count(*) FROM standby_queue_items")[0][0] == 0
    for number in range(3):
        assert len(smtp_server.mailbox.to(f"r{number}@example.org")) <= 1
    if failpoint.startswith("ingest"):
        # Nothing was sent before the crash: every reporter got exactly one.
        for number in range(3):
            assert len(smtp_server.mailbox.to(f"r{number}@example.org")) == 1
