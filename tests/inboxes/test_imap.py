"""The IMAP client against a real Dovecot."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.inboxes.imap import FETCH_PER_COMMAND, ImapError, ImapMailbox, ImapSettings
from tests.conftest import free_port
from tests.dovecot import Dovecot

RAW = b"From: jan@example.org\r\nSubject: Printer\r\nMessage-ID: <p1@example.org>\r\n\r\nJams.\r\n"


def settings_for(dovecot: Dovecot, login: str, secret: str, **kw: object) -> ImapSettings:
    values: dict[str, object] = {
        "host": dovecot.host,
        "port": dovecot.port,
        "security": "none",
        "username": login,
        "password": secret,
    }
    values.update(kw)
    return ImapSettings(**values)  # type: ignore[arg-type]


async def test_unseen_fetch_flag_and_uids_after(dovecot: Dovecot) -> None:
    login, password = dovecot.add_user()
    seen_uid = dovecot.append(login, password, RAW.replace(b"p1", b"p0"), seen=True)
    first = dovecot.append(login, password, RAW)
    async with ImapMailbox(settings_for(dovecot, login, password)) as box:
        assert box.uid_validity and box.has_idle
        assert await box.unseen_uids() == [first]
        raw = await box.fetch(first)
        assert raw is not None and b"Subject: Printer" in raw
        assert dovecot.flags(login, password)[first] == ""  # fetching did not set \Seen
        await box.mark_seen(first)
        assert "\\Seen" in dovecot.flags(login, password)[first]
        assert await box.uids_after(first) == []
        second = dovecot.append(login, password, RAW.replace(b"p1", b"p2"))
        assert await box.uids_after(first) == [second]
        assert await box.uids_after(seen_uid) == [first, second]


async def test_many_messages_are_fetched_a_few_to_a_command(dovecot: Dovecot) -> None:
    """aioimaplib's reading of a FETCH answer costs the square of its messages: a batch
    is fetched FETCH_PER_COMMAND to a command, and comes back whole, by UID."""
    login, password = dovecot.add_user()
    uids = [
        dovecot.append(login, password, RAW.replace(b"p1", f"m{n}".encode()))
        for n in range(2 * FETCH_PER_COMMAND + 3)
    ]
    async with ImapMailbox(settings_for(dovecot, login, password)) as box:
        assert box.client is not None
        commands: list[tuple[Any, ...]] = []
        send = box.client.uid

        async def counted(*args: Any, **kwargs: Any) -> Any:
            commands.append(args)
            return await send(*args, **kwargs)

        box.client.uid = counted  # type: ignore[method-assign]
        missing = uids[-1] + 1  # no such message: left out
        found = await box.fetch_many([*uids, missing])
    assert sorted(found) == uids
    for n, uid in enumerate(uids):
        assert f"<m{n}@example.org>".encode() in found[uid]
    assert len(commands) == 3 and all(c[0] == "fetch" for c in commands)


async def test_idle_wakes_up_on_new_mail(dovecot: Dovecot) -> None:
    login, password = dovecot.add_user()
    async with ImapMailbox(settings_for(dovecot, login, password)) as box:
        waiting = asyncio.create_task(box.idle(30))
        await asyncio.sleep(0.3)  # let IDLE start before the mail lands
        await asyncio.to_thread(dovecot.append, login, password, RAW)
        assert await asyncio.wait_for(waiting, 20) is True


@pytest.mark.parametrize(
    ("overrides", "needle", "retryable"),
    [
        ({"password": "wrong"}, "refused the username or password", False),
        ({"port": None}, "refused the connection", True),
        ({"security": "ssl"}, "TLS handshake", True),
        ({"host": "no-such-host.invalid"}, "cannot be resolved", True),
        ({"security": "starttls"}, "does not offer STARTTLS", False),
        ({"folder": "Nope"}, "cannot be opened", False),
    ],
)
async def test_errors_say_what_to_fix(
    dovecot: Dovecot, overrides: dict[str, object], needle: str, retryable: bool
) -> None:
    login, password = dovecot.add_user()
    if overrides.get("port", 0) is None:
        overrides = {**overrides, "port": free_port()}
    with pytest.raises(ImapError) as caught:
        async with ImapMailbox(settings_for(dovecot, login, password, **overrides)):
            pass
    assert needle in str(caught.value)
    assert caught.value.retryable is retryable
