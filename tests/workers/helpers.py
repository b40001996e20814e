"""Worker processes against a real database, Dovecot and SMTP server."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.core.crypto import FieldCipher
from tests.dovecot import Dovecot
from tests.processes import PROJECT_ROOT, wait_until

__all__ = ["query", "seed_dovecot_inbox", "seed_inbox", "wait_until", "worker"]


def query(url: str, sql: str, **params: Any) -> list[Any]:
    async def run() -> list[Any]:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.begin() as connection:
                result = await connection.execute(text(sql), params)
                return list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()

    # In a thread of its own: callers may sit inside a running event loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        """What it logged so far (it keeps running)."""
        return self.log.read_text(errors="replace")

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(60)
        return self.output()


@contextmanager
def worker(env: dict[str, str]) -> Iterator[Worker]:
    """`python -m app worker`, its output in a file that can be read while it runs."""
    with tempfile.NamedTemporaryFile(prefix="worker-", suffix=".log", delete=False) as log:
        path = Path(log.name)
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "worker"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield Worker(process, path)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
        path.unlink(missing_ok=True)


def seed_inbox(
    url: str,
    *,
    manager: str,
    imap: dict[str, Any],
    smtp: tuple[str, int],
    keywords: list[str],
    name: str = "Help",
    due: bool = True,
) -> int:
    """A verified manager (made once), an inbox and a board routing `keywords`; the
    inbox due now, or (`due=False`) tomorrow: making it due starts its reading."""
    query(
        url,
        "INSERT INTO managers (email, password_hash, full_name, is_email_verified) "
        "VALUES (:e, 'x', 'M', true) ON CONFLICT DO NOTHING",
        e=manager,
    )
    next_poll = "now()" if due else "now() + interval '1 day'"
    [(inbox_id,)] = query(
        url,
        "INSERT INTO email_inboxes (manager_id, name, email_address, imap_host, imap_port, "
        "imap_security, imap_username, imap_password_encrypted, smtp_host, smtp_port, "
        "smtp_security, poll_interval_seconds, next_poll_at) "
        "SELECT id, :name, 'help@example.com', :host, :port, 'none', :user, :password, "
        f":smtp_host, :smtp_port, 'none', 3600, {next_poll} "
        "FROM managers WHERE email = :m RETURNING id",
        m=manager,
        name=name,
        host=imap["host"],
        port=imap["port"],
        user=imap["user"],
        password=imap["password"],
        smtp_host=smtp[0],
        smtp_port=smtp[1],
    )
    [(board_id,)] = query(
        url,
        "INSERT INTO boards (manager_id, name, public_id, email_inbox_id) SELECT id, :name, "
        ":pid, :inbox FROM managers WHERE email = :m RETURNING id",
        m=manager,
        name=f"Board of {name}",
        pid=f"pid-{inbox_id}-{time.time_ns()}",
        inbox=inbox_id,
    )
    for keyword in keywords:
        query(
            url,
            "INSERT INTO board_keywords (board_id, keyword) VALUES (:b, :k)",
            b=board_id,
            k=keyword,
        )
    return int(inbox_id)


def seed_dovecot_inbox(
    url: str,
    dovecot: Dovecot,
    login: str,
    password: str,
    *,
    key: str,
    manager: str,
    name: str = "Help",
    smtp: tuple[str, int] = ("127.0.0.1", 1),
    due: bool = True,
) -> int:
    """`seed_inbox` for a Dovecot mailbox, its password encrypted with `key` (the
    ENCRYPTION_KEY the worker under test gets); the board routes "printer"."""
    cipher = FieldCipher([base64.b64decode(key)])
    return seed_inbox(
        url,
        manager=manager,
        name=name,
        imap={
            "host": dovecot.host,
            "port": dovecot.port,
            "user": login,
            "password": cipher.encrypt(password, context="email_inboxes.imap_password"),
        },
        smtp=smtp,
        keywords=["printer"],
        due=due,
    )
