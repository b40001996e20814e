"""Another manager's objects answer 404, on every route, generated from the app itself.

The matrix is not a list kept by hand: it walks `app.routes`, takes every route that
needs the bearer token and has an object id in its path, and calls it as a second
manager with the first manager's ids. A route added later is covered without
touching this file; one whose path parameter or body this file cannot fill fails
with a message saying what to add.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.boards.models import Board
from app.core.ids import MAX_ID
from app.core.orm import Base
from app.integrations.models import ExternalTicket
from app.integrations.service import park_failed
from app.standby.models import StandbyQueueItem
from app.standby.service import add_item
from tests.auth.helpers import signed_in
from tests.boards.test_boards_api import make_board
from tests.inboxes.test_inboxes_api import inbox_body

API = "/api/v1"
JIRA = {
    "platform": "jira",
    "site_url": "https://example-team.atlassian.net",
    "email": "jira@example.com",
    "api_token": "jira-token-123",
    "project_key": "HELP",
    "issue_type": "Task",
}
TRELLO = {"platform": "trello", "api_key": "k" * 32, "token": "trello-token", "list_id": "abc123"}


@dataclass
class Seeded:
    """A manager with one of everything: what the path parameters can name."""

    email: str
    auth: dict[str, str]
    manager_id: int
    boards: list[dict[str, Any]]
    inbox: dict[str, Any]
    ticket_id: int
    report_uuid: str
    unrouted_item_id: int
    failed_item_id: int
    ids: dict[str, list[int]] = field(default_factory=dict)


async def seed_manager(
    client: httpx.AsyncClient, db: AsyncSession, email: str, *, tag: str = ""
) -> Seeded:
    """A signed-in manager with an inbox, an internal board with a ticket, a board
    forwarding to Jira with a failed forward, and an unrouted email in standby."""
    auth = await signed_in(client, db, email)
    me = (await client.get(f"{API}/me", headers=auth)).json()
    inbox = await client.post(
        f"{API}/inboxes",
        json=inbox_body(name=f"Help {tag}", email_address=f"help{tag}@example.com"),
        headers=auth,
    )
    assert inbox.status_code == 201, inbox.text
    board: dict[str, Any] = await make_board(
        client, auth, f"Printers {tag}", email_inbox_id=inbox.json()["id"], keywords=["printer"]
    )
    forwarded: dict[str, Any] = await make_board(client, auth, f"Forwarded {tag}")
    put = await client.put(f"{API}/boards/{forwarded['id']}/integration", json=JIRA, headers=auth)
    assert put.status_code == 200, put.text
    reports = []
    for target in (board, forwarded):
        sent = await client.post(
            f"{API}/public/boards/{target['public_id']}/tickets",
            json={
                "title": "Printer jams",
                "description": "Every page.",
                "email": "jan@example.org",
            },
        )
        assert sent.status_code == 201, sent.text
        reports.append(sent.json()["uuid"])
    tickets = (await client.get(f"{API}/boards/{board['id']}/tickets", headers=auth)).json()
    [ticket] = tickets["items"]
    external = await db.scalar(
        select(ExternalTicket).where(ExternalTicket.board_id == forwarded["id"])
    )
    assert external is not None
    await park_failed(db, external, await db.get_one(Board, forwarded["id"]), "HTTP 401")
    failed = await db.scalar(
        select(StandbyQueueItem).where(StandbyQueueItem.external_ticket_id == external.id)
    )
    assert failed is not None
    unrouted = await add_item(
        db,
        manager_id=me["id"],
        kind="unrouted_email",
        reason="no_match",
        email_inbox_id=inbox.json()["id"],
        payload={
            "sender": "eve@example.org",
            "subject": "Where does this go?",
            "text": "No keyword here.",
            "message_id": f"<unrouted{tag}@example.org>",
        },
    )
    await db.commit()  # a savepoint inside the test's transaction
    seeded = Seeded(
        email=email,
        auth=auth,
        manager_id=me["id"],
        boards=[board, forwarded],
        inbox=inbox.json(),
        ticket_id=ticket["id"],
        report_uuid=reports[0],
        unrouted_item_id=unrouted.id,
        failed_item_id=failed.id,
    )
    seeded.ids = {
        "board_id": [board["id"], forwarded["id"]],
        "inbox_id": [inbox.json()["id"]],
        "ticket_id": [ticket["id"]],
        # Both kinds: the actions check the kind, and must check the owner first.
        "item_id": [unrouted.id, failed.id],
    }
    return seeded


# --- walking the app ---------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    path_params: tuple[str, ...]
    has_body: bool


def id_operations(document: dict[str, Any]) -> list[Operation]:
    """Every operation that needs the bearer token and names an object in its path.

    Read from the app's own OpenAPI document, which FastAPI builds from the routes:
    a route's `security` names the bearer scheme when it depends on the signed-in
    manager.
    """
    found = []
    for path, entries in document["paths"].items():
        for method, entry in entries.items():
            bearer = any("HTTPBearer" in requirement for requirement in entry.get("security", []))
            params = tuple(p["name"] for p in entry.get("parameters", []) if p["in"] == "path")
            if bearer and params:
                found.append(Operation(method.upper(), path, params, "requestBody" in entry))
    return found


# A valid body for each route that takes one, so that only ownership can refuse it.
# `me` is the caller (the intruder): a body naming an object names one of theirs.
Body = Callable[["Seeded"], dict[str, Any]]
BODIES: dict[tuple[str, str], Body] = {
    ("PATCH", f"{API}/boards/{{board_id}}"): lambda me: {
        "name": "Taken over",
        "description": "mine now",
        "keywords": ["hijack"],
        "email_inbox_id": me.inbox["id"],
    },
    ("PUT", f"{API}/boards/{{board_id}}/keywords"): lambda me: {"keywords": ["hijack"]},
    ("PUT", f"{API}/boards/{{board_id}}/integration"): lambda me: TRELLO,
    ("PATCH", f"{API}/inboxes/{{inbox_id}}"): lambda me: {
        "name": "Taken over",
        "is_active": False,
        "imap_password": "new-password",
        "imap_host": "imap.attacker.example",
    },
    ("POST", f"{API}/inboxes/{{inbox_id}}/oauth2/authorize"): lambda me: {"provider": "google"},
    ("POST", f"{API}/tickets/{{ticket_id}}/transitions"): lambda me: {
        "to_state": "rejected",
        "comment": "closed by someone else",
    },
    ("POST", f"{API}/standby/{{item_id}}/assign"): lambda me: {"board_id": me.boards[0]["id"]},
}


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def schema_example(document: dict[str, Any], operation: Operation) -> dict[str, Any] | None:
    """The first example of the operation's request body schema, if it documents one."""
    entry = document["paths"][operation.path][operation.method.lower()]
    content = entry.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = _resolve(content.get("schema", {}), document)
    for candidate in [schema, *(_resolve(s, document) for s in schema.get("oneOf", []))]:
        examples = candidate.get("examples")
        if examples:
            return dict(examples[0])
    return None


def body_for(document: dict[str, Any], operation: Operation, me: Seeded) -> dict[str, Any] | None:
    if not operation.has_body:
        return None
    make = BODIES.get((operation.method, operation.path))
    if make is not None:
        return make(me)
    example = schema_example(document, operation)
    assert example is not None, (
        f"{operation.method} {operation.path} takes a body, and neither BODIES in "
        f"{__file__} nor its schema's examples give one: add a valid body to BODIES"
    )
    return example


def fill(operation: Operation, ids: dict[str, list[int]]) -> list[str]:
    """The path with every combination of the owner's ids for its parameters."""
    unknown = [p for p in operation.path_params if p not in ids]
    assert not unknown, (
        f"{operation.method} {operation.path}: no object id for path parameter(s) {unknown}; "
        f"seed_manager in {__file__} must create one and name it in Seeded.ids"
    )
    paths = []
    for values in itertools.product(*(ids[p] for p in operation.path_params)):
        path = operation.path
        for name, value in zip(operation.path_params, values, strict=True):
            path = path.replace(f"{{{name}}}", str(value))
        paths.append(path)
    return paths


async def snapshot(db: AsyncSession) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (read past the session's identity map)."""
    rows = {}
    for table in Base.metadata.sorted_tables:
        result = await db.execute(select(table).order_by(*table.primary_key.columns))
        rows[table.name] = [tuple(r) for r in result]
    return rows


async def call(
    client: httpx.AsyncClient, method: str, path: str, auth: dict[str, str], body: Any
) -> httpx.Response:
    return await client.request(method, path, headers=auth, json=body)


# --- the tests ----------------------------------------------------------------


async def test_the_matrix_covers_every_kind_of_object(app: FastAPI) -> None:
    """The walk finds the routes it should (a broken walk would test nothing)."""
    operations = id_operations(app.openapi())
    names = {p for op in operations for p in op.path_params}
    assert names == {"board_id", "inbox_id", "ticket_id", "item_id"}
    assert len(operations) >= 20
    assert ("POST", f"{API}/standby/{{item_id}}/assign") in {
        (op.method, op.path) for op in operations
    }


async def test_another_managers_ids_answer_404_everywhere(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    owner = await seed_manager(client, db, "owner@example.com", tag="a")
    intruder = await seed_manager(client, db, "intruder@example.com", tag="b")
    document = app.openapi()
    operations = id_operations(document)

    # The owner reaches each of these objects: the ids are real.
    for operation in operations:
        if operation.method == "GET":
            for path in fill(operation, owner.ids):
                answer = await client.get(path, headers=owner.auth)
                assert answer.status_code == 200, (path, answer.text)

    before = await snapshot(db)
    for operation in operations:
        body = body_for(document, operation, intruder)
        # What a missing object answers: the owner's must be indistinguishable from it.
        missing_path = fill(operation, {p: [MAX_ID] for p in operation.path_params})[0]
        missing = await call(client, operation.method, missing_path, intruder.auth, body)
        assert missing.status_code == 404, (operation, missing.text)
        for path in fill(operation, owner.ids):
            answer = await call(client, operation.method, path, intruder.auth, body)
            assert answer.status_code == 404, (operation.method, path, answer.text)
            assert answer.json() == missing.json(), (operation.method, path)
    assert await snapshot(db) == before, "a refused request changed the owner's data"


async def test_ids_in_bodies_are_checked_too(client: httpx.AsyncClient, db: AsyncSession) -> None:
    owner = await seed_manager(client, db, "owner@example.com", tag="a")
    intruder = await seed_manager(client, db, "intruder@example.com", tag="b")
    before = await snapshot(db)
    # Place one's own unrouted email on someone else's board.
    assign = await client.post(
        f"{API}/standby/{intruder.unrouted_item_id}/assign",
        json={"board_id": owner.boards[0]["id"]},
        headers=intruder.auth,
    )
    assert assign.status_code == 404, assign.text
    # Link one's own board to someone else's inbox, at creation or later.
    created = await client.post(
        f"{API}/boards",
        json={"name": "Sneaky", "email_inbox_id": owner.inbox["id"]},
        headers=intruder.auth,
    )
    linked = await client.patch(
        f"{API}/boards/{intruder.boards[0]['id']}",
        json={"email_inbox_id": owner.inbox["id"]},
        headers=intruder.auth,
    )
    for answer in (created, linked):
        assert answer.status_code == 422, answer.text
        [error] = answer.json()["errors"]
        assert (error["field"], error["code"]) == ("email_inbox_id", "unknown_inbox")
    assert await snapshot(db) == before


async def test_lists_show_only_ones_own(client: httpx.AsyncClient, db: AsyncSession) -> None:
    owner = await seed_manager(client, db, "owner@example.com", tag="a")
    intruder = await seed_manager(client, db, "intruder@example.com", tag="b")
    owned = {
        "/boards": {b["id"] for b in owner.boards},
        "/inboxes": {owner.inbox["id"]},
        "/standby": {owner.unrouted_item_id, owner.failed_item_id},
    }
    for path, ids in owned.items():
        listed = (await client.get(f"{API}{path}", headers=intruder.auth)).json()["items"]
        assert listed and not {item["id"] for item in listed} & ids, path
    stats = (await client.get(f"{API}/stats", headers=intruder.auth)).json()
    assert {b["id"] for b in stats["boards"]} == {b["id"] for b in intruder.boards}
    assert stats["standby_pending"] == 2
