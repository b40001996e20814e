"""Two worker processes on one database never hold one inbox at once, and skip what
they must (inactive inboxes, suspended managers)."""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections import defaultdict
from functools import partial
from pathlib import Path

from tests.dovecot import Dovecot
from tests.processes import cli_env
from tests.smtp import SmtpServer
from tests.workers.helpers import query, seed_dovecot_inbox, wait_until, worker

KEY = base64.b64encode(os.urandom(32)).decode()


def message(box: int, number: int) -> bytes:
    return (
        f"From: r{box}-{number}@example.org\r\nSubject: printer {box}/{number}\r\n"
        f"Message-ID: <lease-{box}-{number}@example.org>\r\n\r\nprinter\r\n"
    ).encode()


def sessions(output: str) -> list[tuple[int, str, float, str]]:
    events = []
    for line in output.splitlines():
        if not line.startswith("{") or not line.endswith("}"):
            continue  # a line still being written
        record = json.loads(line)
        if record.get("message") in ("inbox session started", "inbox session ended"):
            events.append((record["inbox_id"], record["worker"], record["at"], record["message"]))
    return events


def test_two_workers_share_inboxes_without_overlap(
    database: str, dovecot: Dovecot, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    boxes = []
    for index in range(4):
        login, password = dovecot.add_user()
        boxes.append((login, password))
        seed_dovecot_inbox(
            database,
            dovecot,
            login,
            password,
            key=KEY,
            manager="lease@example.com",
            name=f"Box {index}",
            smtp=(smtp_server.host, smtp_server.port),
        )
    # A fifth inbox that is inactive, and a sixth of a suspended manager: never read.
    for name, manager in (("Inactive", "lease@example.com"), ("Suspended", "gone@example.com")):
        login, password = dovecot.add_user()
        dovecot.append(login, password, message(9, 9))
        seed_dovecot_inbox(
            database,
            dovecot,
            login,
            password,
            key=KEY,
            manager=manager,
            name=name,
            smtp=(smtp_server.host, smtp_server.port),
        )
    query(database, "UPDATE email_inboxes SET is_active = false WHERE name = 'Inactive'")
    query(
        database,
        "UPDATE managers SET is_suspended = true, suspended_at = now() "
        "WHERE email = 'gone@example.com'",
    )

    env = cli_env(
        DATABASE_URL=database,
        DATA_DIR=str(tmp_path),
        SECRET_KEY=secrets.token_urlsafe(40),
        ENCRYPTION_KEY=KEY,
        WORKER_LEASE_SECONDS="2",
    )
    with worker(env) as first, worker(env) as second:
        for round_ in range(2):
            for index, (login, password) in enumerate(boxes):
                dovecot.append(login, password, message(index, round_))
            expected = 4 * (round_ + 1)
            wait_until(
                partial(
                    lambda n: query(database, "SELECT count(*) FROM tickets")[0][0] == n, expected
                ),
                what=f"round {round_}",
            )
            # Sessions last four leases (8 s here) and then hand their inbox back:
            # the next round starts once every inbox has changed hands at least once more.
            ended = round_ * 4 + 4
            wait_until(
                partial(
                    lambda n: (
                        sum(
                            1
                            for e in sessions(first.output() + second.output())
                            if e[3] == "inbox session ended"
                        )
                        >= n
                    ),
                    ended,
                ),
                deadline=60,
                what="hand-overs",
            )
        outputs = first.stop() + "\n" + second.stop()

    assert query(database, "SELECT count(*) FROM tickets")[0][0] == 8
    assert query(database, "SELECT count(*) FROM processed_emails")[0][0] == 8
    events = sessions(outputs)
    assert len({worker_id for _, worker_id, _, _ in events}) == 2, outputs[-3000:]
    by_inbox: dict[int, list[tuple[float, str, str]]] = defaultdict(list)
    for inbox_id, worker_id, at, kind in events:
        by_inbox[inbox_id].append((at, kind, worker_id))
    assert len(by_inbox) == 4  # the inactive and the suspended were never opened
    for inbox_id, timeline in by_inbox.items():
        holder: str | None = None
        for _, kind, worker_id in sorted(timeline):
            if kind == "inbox session started":
                assert holder is None, f"inbox {inbox_id} held by {holder} and {worker_id}"
                holder = worker_id
            else:
                assert holder == worker_id
                holder = None
