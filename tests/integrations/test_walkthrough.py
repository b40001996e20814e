"""Forwarding as a new user meets it: a real server process, a Jira board and a Trello
board pointing at local fakes, reports by form and by email, failures in standby."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from tests.conftest import LiveStack
from tests.dovecot import Dovecot
from tests.fakes.jira import FakeJira
from tests.fakes.trello import FakeTrello
from tests.integrations.conftest import jira_settings, trello_settings
from tests.processes import wait_until


@pytest.fixture
def live_env_overrides(trello: FakeTrello) -> dict[str, str]:
    return {
        "TRELLO_API_BASE_URL": trello.url,
        "FORWARD_RETRY_BASE_SECONDS": "0.2",
        "FORWARD_MAX_ATTEMPTS": "2",
        "INTEGRATION_TIMEOUT_SECONDS": "2",
    }


def email(subject: str, number: int) -> bytes:
    return (
        f"From: reporter{number}@example.org\r\nSubject: {subject}\r\n"
        f"Message-ID: <fwd-{number}@example.org>\r\n\r\nplease help\r\n"
    ).encode()


def test_forwarding_end_to_end(
    live_stack: LiveStack, dovecot: Dovecot, jira: FakeJira, trello: FakeTrello
) -> None:
    api, auth = live_stack.signed_in_manager()
    login, password = dovecot.add_user()
    inbox = api.post(
        "/inboxes",
        headers=auth,
        json=dovecot.inbox(login, password),
    ).json()
    boards = {}
    for name, keyword, settings in (
        ("Jira", "jira", jira_settings(jira)),
        ("Trello", "trello", trello_settings(trello)),
    ):
        board = api.post(
            "/boards",
            headers=auth,
            json={"name": name, "keywords": [keyword], "email_inbox_id": inbox["id"]},
        ).json()
        put = api.put(f"/boards/{board['id']}/integration", headers=auth, json=settings)
        assert put.status_code == 200
        assert (
            api.post(f"/boards/{board['id']}/integration/test", headers=auth).json()["ok"] is True
        )
        boards[name] = put.json()

    def submit(board: str, title: str) -> str:
        response = api.post(
            f"/public/boards/{boards[board]['public_id']}/tickets",
            json={"title": title, "description": "details", "email": "web@example.org"},
        )
        assert response.status_code == 201
        return str(response.json()["uuid"])

    def status(report_uuid: str) -> dict[str, Any]:
        return api.get(f"/public/tickets/{report_uuid}").json()  # type: ignore[no-any-return]

    web = [submit("Jira", "Form to Jira"), submit("Trello", "Form to Trello")]
    dovecot.append(login, password, email("jira: mail", 1))
    dovecot.append(login, password, email("trello: mail", 2))
    wait_until(lambda: len(jira.issues) == 2 and len(trello.cards) == 2)
    assert wait_until(lambda: all(status(u)["status"] == "created" for u in web))
    assert sorted(i["fields"]["summary"] for i in jira.issues) == ["Form to Jira", "jira: mail"]
    assert sorted(c["name"] for c in trello.cards) == ["Form to Trello", "trello: mail"]
    assert any("email" in str(i["fields"]["description"]) for i in jira.issues)

    # Failing in each way: each report waits in standby with a readable reason …
    def standby() -> dict[str, dict[str, Any]]:
        items = api.get("/standby", headers=auth).json()["items"]
        return {i["payload"]["title"]: i for i in items}

    failing: list[tuple[FakeJira | FakeTrello, tuple[str, ...], str, str]] = [
        (jira, ("401",), "Jira", "Refused by Jira"),
        (trello, ("500", "500"), "Trello", "Trello is down"),
        (trello, ("404",), "Trello", "Trello lost it"),
    ]
    uuids = {}
    for fake, modes, board, title in failing:
        fake.fail_next(*modes)
        uuids[title] = submit(board, title)
        wait_until(partial(lambda t: t in standby(), title))
    refused, broken, lost = (uuids[t] for _, _, _, t in failing)
    items = standby()
    assert "401" in items["Refused by Jira"]["payload"]["last_error"]
    assert "500" in items["Trello is down"]["payload"]["last_error"]
    assert "404" in items["Trello lost it"]["payload"]["last_error"]
    assert status(refused)["status"] == "failed"
    by_title = {title: item["id"] for title, item in items.items()}

    # … and retry, convert and discard clear them.
    assert (
        api.post(f"/standby/{by_title['Refused by Jira']}/retry", headers=auth).status_code == 202
    )
    assert wait_until(lambda: status(refused)["status"] == "created")
    converted = api.post(f"/standby/{by_title['Trello is down']}/convert", headers=auth)
    assert converted.status_code == 201 and converted.json()["uuid"] == broken
    assert status(broken)["kind"] == "ticket"
    assert (
        api.post(f"/standby/{by_title['Trello lost it']}/discard", headers=auth).status_code == 204
    )
    assert api.get("/standby", headers=auth).json()["items"] == []
    assert status(lost)["status"] == "failed"
    assert len(jira.issues) == 3 and len(trello.cards) == 2  # nothing made twice
