"""Clearing the standby queue: retry, convert, discard, assign — each exactly once."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from app.inboxes.models import EmailInbox
from app.intake.ingest import ingest_message
from app.outbox.models import OutgoingEmail
from app.tickets.models import Ticket
from tests.fakes.jira import FakeJira
from tests.integrations.conftest import Stack, jira_settings

API = "/api/v1"


async def failed_forward(stack: Stack, jira: FakeJira, name: str) -> tuple[dict[str, Any], str]:
    board = await stack.board(name, jira_settings(jira, api_token="expired"))
    report_uuid = await stack.report(board)
    await stack.forward_all()
    assert (await stack.status(report_uuid))["status"] == "failed"
    return board, report_uuid


async def item_for(stack: Stack, report_title: str = "Printer jams") -> dict[str, Any]:
    items = (await stack.client.get(f"{API}/standby", headers=stack.auth)).json()["items"]
    [item] = [i for i in items if i["payload"]["title"] == report_title]
    return item  # type: ignore[no-any-return]


async def test_retry_uses_the_fixed_token(stack: Stack, jira: FakeJira) -> None:
    board, report_uuid = await failed_forward(stack, jira, "Retry board")
    item = await item_for(stack)
    await stack.client.put(
        f"{API}/boards/{board['id']}/integration", json=jira_settings(jira), headers=stack.auth
    )
    retried = await stack.client.post(f"{API}/standby/{item['id']}/retry", headers=stack.auth)
    assert retried.status_code == 202 and retried.json()["status"] == "resolved"
    assert (await stack.status(report_uuid))["status"] == "pending"
    await stack.forward_all()
    assert (await stack.status(report_uuid))["status"] == "created"
    assert len(jira.issues) == 1
    again = await stack.client.post(f"{API}/standby/{item['id']}/retry", headers=stack.auth)
    assert again.status_code == 409 and again.json()["code"] == "already_resolved"


async def test_convert_keeps_the_reporters_link(stack: Stack, jira: FakeJira) -> None:
    board, report_uuid = await failed_forward(stack, jira, "Convert board")
    item = await item_for(stack)
    converted = await stack.client.post(f"{API}/standby/{item['id']}/convert", headers=stack.auth)
    assert converted.status_code == 201
    ticket = converted.json()
    assert ticket["uuid"] == report_uuid and ticket["state"] == "new"
    assert ticket["board_id"] == board["id"] and ticket["reporter_email"] == "jan@example.org"
    shown = await stack.status(report_uuid)
    assert (shown["kind"], shown["state"]) == ("ticket", "new")  # the same link, now a ticket
    listed = (
        await stack.client.get(f"{API}/boards/{board['id']}/tickets", headers=stack.auth)
    ).json()["items"]
    assert [t["uuid"] for t in listed] == [report_uuid]
    wrong = await stack.client.post(f"{API}/standby/{item['id']}/discard", headers=stack.auth)
    assert wrong.status_code == 409


async def test_discard_and_kinds(stack: Stack, jira: FakeJira) -> None:
    _, _ = await failed_forward(stack, jira, "Discard board")
    item = await item_for(stack)
    misplaced = await stack.client.post(
        f"{API}/standby/{item['id']}/assign", json={"board_id": 1}, headers=stack.auth
    )
    assert misplaced.status_code == 409 and misplaced.json()["code"] == "wrong_kind"
    gone = await stack.client.post(f"{API}/standby/{item['id']}/discard", headers=stack.auth)
    assert gone.status_code == 204
    assert (await stack.client.get(f"{API}/standby", headers=stack.auth)).json()["items"] == []
    history = (
        await stack.client.get(f"{API}/standby", params={"status": "discarded"}, headers=stack.auth)
    ).json()["items"]
    assert [i["id"] for i in history] == [item["id"]] and history[0]["resolved_at"]


async def unrouted(
    stack: Stack, subject: str, sender: str | None = "Ola <ola@example.org>", headers: str = ""
) -> dict[str, Any]:
    """An email no board matched (or without a sender), through the real ingest path."""
    inbox_id = (
        await stack.client.post(
            f"{API}/inboxes",
            headers=stack.auth,
            json={
                "name": f"Inbox {subject}",
                "email_address": "help@example.com",
                "imap_host": "imap.example.com",
            },
        )
    ).json()["id"]
    raw = (
        (f"From: {sender}\r\n" if sender else "")
        + f"Subject: {subject}\r\nMessage-ID: <{subject}@x>\r\n{headers}"
        f"Content-Language: pl\r\n\r\nNothing matches here\r\n"
    ).encode()
    async with stack.sessions() as session, session.begin():
        inbox = await session.get_one(EmailInbox, inbox_id)
        result = await ingest_message(session, stack.settings, inbox, raw, uid=1)
    assert result.outcome == "standby"
    return await item_for(stack, subject)


async def test_assign_places_an_email_and_answers_its_sender(stack: Stack, jira: FakeJira) -> None:
    item = await unrouted(stack, "Lost-mail")
    assert item["reason"] == "no_match"
    internal = await stack.board("Internal board", None)
    assigned = await stack.client.post(
        f"{API}/standby/{item['id']}/assign", json={"board_id": internal["id"]}, headers=stack.auth
    )
    assert assigned.status_code == 201, assigned.text
    ticket = assigned.json()
    assert (ticket["title"], ticket["source"], ticket["language"]) == ("Lost-mail", "email", "pl")
    async with stack.sessions() as session:
        ack = await session.scalar(
            select(OutgoingEmail).where(OutgoingEmail.to_address == "ola@example.org")
        )
        stored = await session.scalar(select(Ticket).where(Ticket.id == ticket["id"]))
    assert ack is not None and ack.headers["In-Reply-To"] == "<Lost-mail@x>"
    assert stored is not None and stored.email_message_id == "<Lost-mail@x>"
    twice = await stack.client.post(
        f"{API}/standby/{item['id']}/assign", json={"board_id": internal["id"]}, headers=stack.auth
    )
    assert twice.status_code == 409 and twice.json()["code"] == "already_resolved"

    forwarded_item = await unrouted(stack, "To-jira")
    jira_board = await stack.board("Jira target", jira_settings(jira))
    external = await stack.client.post(
        f"{API}/standby/{forwarded_item['id']}/assign",
        json={"board_id": jira_board["id"]},
        headers=stack.auth,
    )
    assert external.status_code == 201 and external.json()["platform"] == "jira"
    await stack.forward_all()
    assert len(jira.issues) == 1
    archived = await stack.board("Archived", None)
    await stack.client.post(f"{API}/boards/{archived['id']}/archive", headers=stack.auth)
    third = await unrouted(stack, "Third")
    refused = await stack.client.post(
        f"{API}/standby/{third['id']}/assign", json={"board_id": archived["id"]}, headers=stack.auth
    )
    assert refused.status_code == 422
    assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [
        ("board_id", "board_archived")
    ]


async def test_list_mail_assigned_by_hand_is_never_answered(stack: Stack) -> None:
    item = await unrouted(
        stack,
        "List-post",
        "Lista <lista@lists.example.org>",
        "List-Id: <team.lists.example.org>\r\n",
    )
    board = await stack.board("List board", None)
    assigned = await stack.client.post(
        f"{API}/standby/{item['id']}/assign", json={"board_id": board["id"]}, headers=stack.auth
    )
    assert assigned.status_code == 201, assigned.text
    async with stack.sessions() as session:
        mail = list(
            await session.scalars(
                select(OutgoingEmail).where(OutgoingEmail.to_address == "lista@lists.example.org")
            )
        )
        stored = await session.scalar(select(Ticket).where(Ticket.id == assigned.json()["id"]))
    assert stored is not None and stored.title == "List-post"  # the report is kept …
    assert mail == []  # … and the list is not answered


async def test_an_email_without_a_sender_cannot_be_assigned(stack: Stack) -> None:
    item = await unrouted(stack, "Anonymous", sender=None)
    assert item["reason"] == "no_sender"
    board = await stack.board("Somewhere", None)
    refused = await stack.client.post(
        f"{API}/standby/{item['id']}/assign", json={"board_id": board["id"]}, headers=stack.auth
    )
    assert refused.status_code == 422
    assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [
        ("id", "no_sender_address")
    ]


async def test_racing_actions_resolve_an_item_once(stack: Stack, jira: FakeJira) -> None:
    for round_ in range(3):
        _, report_uuid = await failed_forward(stack, jira, f"Race {round_}")
        items = (await stack.client.get(f"{API}/standby", headers=stack.auth)).json()["items"]
        item_id = items[0]["id"]
        answers = await asyncio.gather(
            stack.client.post(f"{API}/standby/{item_id}/convert", headers=stack.auth),
            stack.client.post(f"{API}/standby/{item_id}/discard", headers=stack.auth),
            stack.client.post(f"{API}/standby/{item_id}/convert", headers=stack.auth),
        )
        codes = sorted(a.status_code for a in answers)
        assert codes.count(409) == 2 and codes[0] in (201, 204), codes
        async with stack.sessions() as session:
            tickets = list(await session.scalars(select(Ticket).where(Ticket.uuid == report_uuid)))
        assert len(tickets) <= 1


async def test_another_managers_items_are_not_found(stack: Stack, jira: FakeJira) -> None:
    from app.auth.service import create_manager
    from app.core.database import request_transaction
    from tests.auth.helpers import PASSWORD, bearer, login

    _, _ = await failed_forward(stack, jira, "Private")
    item = await item_for(stack)
    async with stack.sessions() as session, request_transaction(session):
        await create_manager(
            session, email="other@example.com", password=PASSWORD, full_name="Other", verified=True
        )
    other = bearer((await login(stack.client, "other@example.com")).json()["access_token"])
    assert (await stack.client.get(f"{API}/standby", headers=other)).json()["items"] == []
    for action in ("retry", "convert", "discard"):
        response = await stack.client.post(f"{API}/standby/{item['id']}/{action}", headers=other)
        assert response.status_code == 404, action
