"""Boards over HTTP: create, read, update, keywords, archive, counts, ownership."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.auth.helpers import signed_in

API = "/api/v1"


async def make_board(
    client: httpx.AsyncClient, auth: dict[str, str], name: str = "Printers", **extra: object
) -> dict[str, object]:
    response = await client.post(f"{API}/boards", json={"name": name, **extra}, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_create_and_read_a_board(client: httpx.AsyncClient, db: AsyncSession) -> None:
    auth = await signed_in(client, db)
    board = await make_board(
        client, auth, "Printers", description="Paper jams", keywords=[" printer ", "Drukarka"]
    )
    assert board["keywords"] == ["printer", "Drukarka"]
    assert board["is_active"] is True and board["integration"] is None
    assert board["ticket_counts"] == {"new": 0, "in_progress": 0, "closed": 0, "rejected": 0}
    public_id = str(board["public_id"])
    assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", public_id)  # 128 random bits, URL-safe
    assert board["public_url"] == f"http://tracker.test/b/{public_id}"
    again = await client.get(f"{API}/boards/{board['id']}", headers=auth)
    assert again.json() == board
    other = await make_board(client, auth, "Network")
    assert other["public_id"] != public_id


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        (["printer", "  "], "empty"),
        (["x" * 101], "longer than 100"),
        (["Printer", "PRINTER"], "repeats"),
    ],
)
async def test_bad_keywords_are_refused(
    client: httpx.AsyncClient, db: AsyncSession, keywords: list[str], message: str
) -> None:
    auth = await signed_in(client, db)
    created = await client.post(
        f"{API}/boards", json={"name": "B", "keywords": keywords}, headers=auth
    )
    assert created.status_code == 422
    [error] = created.json()["errors"]
    assert error["field"].startswith("keywords") and message in error["message"]
    board = await make_board(client, auth, "Printers", keywords=["printer"])
    replaced = await client.put(
        f"{API}/boards/{board['id']}/keywords", json={"keywords": keywords}, headers=auth
    )
    assert replaced.status_code == 422
    assert (await client.get(f"{API}/boards/{board['id']}", headers=auth)).json()["keywords"] == [
        "printer"
    ]


async def test_keywords_are_replaced_whole(client: httpx.AsyncClient, db: AsyncSession) -> None:
    auth = await signed_in(client, db)
    board = await make_board(client, auth, keywords=["printer", "toner"])
    replaced = await client.put(
        f"{API}/boards/{board['id']}/keywords",
        json={"keywords": ["PRINTER", "scanner"]},
        headers=auth,
    )
    assert replaced.status_code == 200
    assert replaced.json()["keywords"] == ["PRINTER", "scanner"]
    patched = await client.patch(f"{API}/boards/{board['id']}", json={"keywords": []}, headers=auth)
    assert patched.json()["keywords"] == []


async def test_board_names_are_unique_per_manager(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    anna = await signed_in(client, db)
    bob = await signed_in(client, db, "bob@example.com")
    await make_board(client, anna, "Printers")
    clash = await client.post(f"{API}/boards", json={"name": "printers"}, headers=anna)
    assert clash.status_code == 409 and clash.json()["code"] == "board_name_taken"
    await make_board(client, bob, "Printers")  # another manager may use the name
    network = await make_board(client, anna, "Network")
    renamed = await client.patch(
        f"{API}/boards/{network['id']}", json={"name": "PRINTERS"}, headers=anna
    )
    assert renamed.status_code == 409


async def test_update_archive_and_unarchive(client: httpx.AsyncClient, db: AsyncSession) -> None:
    auth = await signed_in(client, db)
    board = await make_board(client, auth)
    patched = await client.patch(
        f"{API}/boards/{board['id']}",
        json={"name": "Printers & scanners", "description": "All paper things"},
        headers=auth,
    )
    assert patched.status_code == 200
    assert patched.json()["name"] == "Printers & scanners"
    assert patched.json()["description"] == "All paper things"
    assert (
        await client.patch(f"{API}/boards/{board['id']}", json={"name": None}, headers=auth)
    ).status_code == 422
    archived = await client.post(f"{API}/boards/{board['id']}/archive", headers=auth)
    assert archived.status_code == 200 and archived.json()["is_active"] is False
    public = await client.get(f"{API}/public/boards/{board['public_id']}")
    assert public.status_code == 404
    restored = await client.post(f"{API}/boards/{board['id']}/unarchive", headers=auth)
    assert restored.json()["is_active"] is True
    assert (await client.get(f"{API}/public/boards/{board['public_id']}")).status_code == 200


async def test_an_inbox_link_must_be_to_an_own_inbox(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    auth = await signed_in(client, db)
    await signed_in(client, db, "bob@example.com")
    bobs_inbox = (
        await db.execute(
            text(
                "INSERT INTO email_inboxes (manager_id, name, email_address, imap_host) "
                "SELECT id, 'Bob', 'bob-help@example.com', 'imap.example.com' FROM managers "
                "WHERE email = 'bob@example.com' RETURNING id"
            )
        )
    ).scalar_one()
    refused = await client.post(
        f"{API}/boards", json={"name": "X", "email_inbox_id": bobs_inbox}, headers=auth
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "email_inbox_id"


async def test_boards_list_pages_newest_first(client: httpx.AsyncClient, db: AsyncSession) -> None:
    auth = await signed_in(client, db)
    for i in range(5):
        await make_board(client, auth, f"Board {i}")
    first = (await client.get(f"{API}/boards?limit=2", headers=auth)).json()
    assert [b["name"] for b in first["items"]] == ["Board 4", "Board 3"]
    seen = [b["name"] for b in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = (
            await client.get(f"{API}/boards", params={"limit": 2, "cursor": cursor}, headers=auth)
        ).json()
        seen += [b["name"] for b in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [f"Board {i}" for i in range(4, -1, -1)]
    for bad in ({"limit": 0}, {"limit": 101}, {"cursor": "garbage!"}):
        response = await client.get(f"{API}/boards", params=bad, headers=auth)
        assert response.status_code == 422, bad
        assert response.json()["code"] == "validation_error"


async def test_a_manager_sees_only_their_own_boards(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    anna = await signed_in(client, db)
    bob = await signed_in(client, db, "bob@example.com")
    board = await make_board(client, anna, keywords=["printer"])
    board_id = board["id"]
    submitted = await client.post(
        f"{API}/public/boards/{board['public_id']}/tickets",
        json={"title": "Jam", "description": "Paper jam", "email": "u@example.org"},
    )
    ticket_id = (await client.get(f"{API}/boards/{board_id}/tickets", headers=anna)).json()[
        "items"
    ][0]["id"]
    assert submitted.status_code == 201

    requests = [
        ("GET", f"/boards/{board_id}", None),
        ("PATCH", f"/boards/{board_id}", {"name": "Mine now"}),
        ("PUT", f"/boards/{board_id}/keywords", {"keywords": ["x"]}),
        ("POST", f"/boards/{board_id}/archive", None),
        ("POST", f"/boards/{board_id}/unarchive", None),
        ("GET", f"/boards/{board_id}/tickets", None),
        ("GET", f"/boards/{board_id}/external-tickets", None),
        ("GET", f"/tickets/{ticket_id}", None),
        ("POST", f"/tickets/{ticket_id}/transitions", {"to_state": "closed"}),
    ]
    for method, path, body in requests:
        foreign = await client.request(method, f"{API}{path}", json=body, headers=bob)
        assert foreign.status_code == 404, (method, path)
        assert foreign.json()["code"] == "not_found"
        missing = await client.request(
            method,
            f"{API}{path.replace(str(board_id), '999999').replace(str(ticket_id), '999999')}",
            json=body,
            headers=anna,
        )
        assert missing.status_code == 404  # the same answer as for a board that does not exist
    assert (await client.get(f"{API}/boards", headers=bob)).json()["items"] == []
    stats = (await client.get(f"{API}/stats", headers=bob)).json()
    assert stats == {"boards": [], "standby_pending": 0}
    mine = await client.get(f"{API}/boards/{board_id}", headers=anna)
    assert mine.json()["name"] == "Printers" and mine.json()["keywords"] == ["printer"]


async def test_counts_and_stats(client: httpx.AsyncClient, db: AsyncSession) -> None:
    auth = await signed_in(client, db)
    board = await make_board(client, auth)
    for title in ("One", "Two", "Three"):
        await client.post(
            f"{API}/public/boards/{board['public_id']}/tickets",
            json={"title": title, "description": "d", "email": "u@example.org"},
        )
    tickets = (await client.get(f"{API}/boards/{board['id']}/tickets", headers=auth)).json()
    await client.post(
        f"{API}/tickets/{tickets['items'][0]['id']}/transitions",
        json={"to_state": "in_progress"},
        headers=auth,
    )
    await client.post(
        f"{API}/tickets/{tickets['items'][1]['id']}/transitions",
        json={"to_state": "rejected"},
        headers=auth,
    )
    counts = {"new": 1, "in_progress": 1, "closed": 0, "rejected": 1}
    assert (await client.get(f"{API}/boards/{board['id']}", headers=auth)).json()[
        "ticket_counts"
    ] == counts
    stats = (await client.get(f"{API}/stats", headers=auth)).json()
    assert stats["boards"] == [
        {"id": board["id"], "name": "Printers", "is_active": True, "ticket_counts": counts}
    ]
    assert stats["standby_pending"] == 0
    assert (await client.get(f"{API}/stats")).status_code == 401
