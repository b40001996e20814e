"""The whole public flow against a real server process and real SMTP.

A manager creates a board with keywords; an end user reports through the public
route, opens the status link, and the manager moves the ticket new → in_progress →
closed. The reporter receives the acknowledgement and both notices, in Polish, each
with a link that opens the right ticket; the status page shows the public comments.
"""

from __future__ import annotations

import re

import httpx

from tests.conftest import LiveStack


def test_report_follow_and_close(live_stack: LiveStack) -> None:
    api, auth = live_stack.signed_in_manager()
    board = api.post(
        "/boards",
        headers=auth,
        json={
            "name": "Drukarki",
            "description": "Zgłoś problem z drukarką",
            "keywords": ["drukarka", "toner"],
        },
    ).json()
    assert board["keywords"] == ["drukarka", "toner"]

    form = api.get(f"/public/boards/{board['public_id']}")
    assert form.json() == {"name": "Drukarki", "description": "Zgłoś problem z drukarką"}
    submitted = api.post(
        f"/public/boards/{board['public_id']}/tickets",
        json={
            "title": "Drukarka zacina papier",
            "description": "Na 2. piętrze, od poniedziałku.",
            "email": "jan.kowalski@example.org",
            "name": "Jan",
            "language": "pl",
        },
    )
    assert submitted.status_code == 201
    report_uuid = submitted.json()["uuid"]
    status_url = submitted.json()["status_url"]
    assert status_url == f"http://tracker.example.com/t/{report_uuid}"

    # The status page is the SPA at /t/{uuid}; its data comes from the public API.
    page = httpx.get(f"{live_stack.server.base_url}/t/{report_uuid}")
    assert page.status_code == 200 and '<div id="root">' in page.text
    assert api.get(f"/public/tickets/{report_uuid}").json()["title"] == "Drukarka zacina papier"

    ticket = api.get(f"/boards/{board['id']}/tickets", headers=auth).json()["items"][0]
    for target, comment in (("in_progress", "Technik już idzie."), ("closed", "Wymieniono rolkę.")):
        moved = api.post(
            f"/tickets/{ticket['id']}/transitions",
            headers=auth,
            json={"to_state": target, "comment": comment, "internal_note": "koszt 40 zł"},
        )
        assert moved.status_code == 200, moved.text
    invalid = api.post(
        f"/tickets/{ticket['id']}/transitions", headers=auth, json={"to_state": "in_progress"}
    )
    assert invalid.status_code == 409 and invalid.json()["code"] == "invalid_transition"

    public = api.get(f"/public/tickets/{report_uuid}").json()
    assert public["state"] == "closed" and public["board_name"] == "Drukarki"
    assert [h["comment"] for h in public["history"]] == [
        None,
        "Technik już idzie.",
        "Wymieniono rolkę.",
    ]
    assert "koszt" not in str(public) and "jan.kowalski" not in str(public)

    mails = live_stack.smtp.mailbox.wait_for("jan.kowalski@example.org", count=3)
    assert len(mails) == 3
    ack, started, closed = sorted(
        mails,
        key=lambda m: ("Otrzymali" not in str(m["Subject"]), "zamknięte" in str(m["Subject"])),
    )
    assert str(ack["Subject"]).startswith("Otrzymaliśmy Twoje zgłoszenie: Drukarka zacina papier")
    assert "w realizacji" in str(started["Subject"]) and "zamknięte" in str(closed["Subject"])
    for mail in mails:
        assert mail["Content-Language"] == "pl"
        assert mail["Auto-Submitted"] == "auto-replied"
        body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        [link] = re.findall(r"http://tracker\.example\.com/t/[0-9a-f-]+", body)
        assert link == status_url
        assert "koszt" not in body and "2. piętrze" not in body
    assert "Technik już idzie." in started.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # Nobody else was written to.
    assert {str(m["To"]) for m in live_stack.smtp.mailbox.messages} == {"jan.kowalski@example.org"}
