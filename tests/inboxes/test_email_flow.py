"""Email in, tickets out: a real server process reading a real Dovecot, acknowledging
through a real SMTP server (SPEC 4.3)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.conftest import LiveStack
from tests.dovecot import Dovecot
from tests.processes import wait_until

SAMPLES = Path(__file__).resolve().parents[1] / "intake" / "samples"


def message(subject: str, body: str, msgid: str, sender: str = "jan@example.org") -> bytes:
    return (
        f"From: Jan <{sender}>\r\nTo: help@example.com\r\nSubject: {subject}\r\n"
        f"Message-ID: <{msgid}@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"\r\n{body}\r\n"
    ).encode()


def test_mail_becomes_tickets_exactly_once(live_stack: LiveStack, dovecot: Dovecot) -> None:
    login, password = dovecot.add_user()
    # Already there before the inbox is connected: the read one stays alone.
    dovecot.append(login, password, message("Printer old and read", "x", "old-read"), seen=True)
    dovecot.append(login, password, message("Printer waiting", "unanswered", "old-unseen"))

    api, auth = live_stack.signed_in_manager()
    inbox = api.post(
        "/inboxes",
        headers=auth,
        json=dovecot.inbox(
            login,
            password,
            smtp_host=live_stack.smtp.host,
            smtp_port=live_stack.smtp.port,
            smtp_security="none",
            poll_interval_seconds=3600,
        ),
    )
    assert inbox.status_code == 201, inbox.text
    assert inbox.json()["has_imap_password"] is True and "imap_password" not in inbox.json()
    inbox_id = inbox.json()["id"]
    boards = {}
    for name, keywords in (("Printers", ["printer", "drukarka"]), ("Network", ["wifi"])):
        created = api.post(
            "/boards",
            headers=auth,
            json={"name": name, "keywords": keywords, "email_inbox_id": inbox_id},
        )
        boards[name] = created.json()["id"]

    def tickets(board: str) -> list[dict[str, Any]]:
        return api.get(f"/boards/{boards[board]}/tickets", headers=auth).json()["items"]

    wait_until(lambda: tickets("Printers"))
    assert [t["title"] for t in tickets("Printers")] == ["Printer waiting"]

    deliveries = [
        message("Printer jams", "paper everywhere", "one-board", "a@example.org"),
        message("Help", "the printer and the wifi", "both", "b@example.org"),
        message("Hello", "nothing to route", "none", "c@example.org"),
        message("Reprinting", "printers everywhere", "contains", "d@example.org"),
        (SAMPLES / "out-of-office.eml").read_bytes(),
        (SAMPLES / "bounce.eml").read_bytes(),
        (SAMPLES / "polish-qp-iso-8859-2.eml").read_bytes(),
        message("WiFi is down", "since noon", "twice", "e@example.org"),
        message("WiFi is down", "since noon", "twice", "e@example.org"),
    ]
    for raw in deliveries:
        dovecot.append(login, password, raw)

    wait_until(lambda: len(tickets("Printers")) == 3 and len(tickets("Network")) == 1)
    standby = wait_until(
        lambda: (
            (items := api.get("/standby", headers=auth).json()["items"])
            and len(items) == 3
            and items
        )
    )
    assert sorted(i["reason"] for i in standby) == ["ambiguous", "no_match", "no_match"]
    assert sorted(t["title"] for t in tickets("Printers")) == [
        "Drukarka nie działa - zażółć gęślą jaźń",
        "Printer jams",
        "Printer waiting",
    ]
    assert [t["reporter_email"] for t in tickets("Network")] == ["e@example.org"]
    polish = next(t for t in tickets("Printers") if t["title"].startswith("Drukarka"))
    assert polish["language"] == "pl" and polish["source"] == "email"

    # Acknowledgements: one each for the routed senders, threaded, from the inbox.
    routed = ["jan@example.org", "a@example.org", "zbyszek@example.pl", "e@example.org"]
    for sender in routed:
        [ack] = live_stack.smtp.mailbox.wait_for(sender)
        assert ack["From"] == "help@example.com"
        assert ack["In-Reply-To"] and ack["In-Reply-To"] in ack["References"]
        assert ack["Auto-Submitted"] == "auto-replied"
    assert sorted(str(m["To"]) for m in live_stack.smtp.mailbox.messages) == sorted(routed)

    # Every message is flagged \Seen once handled; the read one was left alone.
    flags = dovecot.flags(login, password)
    assert all("\\Seen" in f for f in flags.values())

    # IDLE: with an hour's poll interval, new mail still becomes a ticket within seconds.
    started = time.monotonic()
    dovecot.append(login, password, message("WiFi again", "router", "idle", "f@example.org"))
    wait_until(lambda: len(tickets("Network")) == 2, deadline=20)
    assert time.monotonic() - started < 20
    health = api.get(f"/inboxes/{inbox_id}", headers=auth).json()
    assert health["last_polled_at"] is not None and health["last_error"] is None
