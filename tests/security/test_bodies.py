"""Hostile input: characters PostgreSQL or a mail header cannot take, ids beyond
bigint, bodies that are not JSON, too big or too deep. Always a 4xx, never a 5xx.

(docs/security.md, "Fuzzing and bodies", says what is refused and why.)
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import Message

from app.core.body_limit import BodyLimitMiddleware
from app.core.config import Settings
from app.core.ids import MAX_ID
from tests.auth.helpers import PASSWORD
from tests.security.test_ownership import (
    JIRA,
    Seeded,
    body_for,
    fill,
    id_operations,
    seed_manager,
    snapshot,
)

API = "/api/v1"
REPORT = {"title": "Printer jams", "description": "Every page.", "email": "jan@example.org"}


def field_errors(response: httpx.Response) -> dict[str, dict[str, Any]]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation_error", body
    return {e["field"]: e for e in body["errors"]}


def invalid_characters(response: httpx.Response, field: str) -> dict[str, Any]:
    error = field_errors(response)[field]
    assert error["code"] == "invalid_characters", error
    return error


@pytest.fixture
async def me(client: httpx.AsyncClient, db: AsyncSession) -> Seeded:
    return await seed_manager(client, db, "anna@example.com", tag="a")


def submit(me: Seeded) -> str:
    return f"{API}/public/boards/{me.boards[0]['public_id']}/tickets"


# --- characters ---------------------------------------------------------------


async def test_a_nul_in_a_ticket_title_is_a_422(client: httpx.AsyncClient, me: Seeded) -> None:
    response = await client.post(submit(me), json={**REPORT, "title": "Printer\x00jams"})
    error = invalid_characters(response, "title")
    assert error["params"] == {"position": 7, "character": "U+0000"}


async def test_a_nul_in_an_inbox_name_is_a_422(client: httpx.AsyncClient, me: Seeded) -> None:
    from tests.inboxes.test_inboxes_api import inbox_body

    created = await client.post(
        f"{API}/inboxes", json=inbox_body(name="Help\x00desk"), headers=me.auth
    )
    invalid_characters(created, "name")
    changed = await client.patch(
        f"{API}/inboxes/{me.inbox['id']}", json={"name": "\x00"}, headers=me.auth
    )
    invalid_characters(changed, "name")


# (method, path under the seeded manager, body, field): every stored free-text field.
def _cases(me: Seeded) -> list[tuple[str, str, dict[str, Any], str]]:
    board, inbox, ticket = me.boards[0]["id"], me.inbox["id"], me.ticket_id
    move = f"{API}/tickets/{ticket}/transitions"
    link = f"{API}/boards/{board}/integration"
    return [
        ("POST", submit(me), {**REPORT, "description": "a\x00b"}, "description"),
        ("POST", submit(me), {**REPORT, "name": "Jan\x00"}, "name"),
        ("POST", f"{API}/boards", {"name": "B\x00"}, "name"),
        ("POST", f"{API}/boards", {"name": "B", "description": "\x00"}, "description"),
        ("PATCH", f"{API}/boards/{board}", {"name": "B\x1b[31m"}, "name"),
        ("PATCH", f"{API}/boards/{board}", {"description": "x\x00"}, "description"),
        ("POST", move, {"to_state": "closed", "comment": "\x00"}, "comment"),
        ("POST", move, {"to_state": "closed", "internal_note": "\x07"}, "internal_note"),
        ("PATCH", f"{API}/inboxes/{inbox}", {"imap_username": "u\x00"}, "imap_username"),
        ("PATCH", f"{API}/inboxes/{inbox}", {"smtp_username": "u\x00"}, "smtp_username"),
        ("PATCH", f"{API}/inboxes/{inbox}", {"imap_password": "p\x00"}, "imap_password"),
        ("PATCH", f"{API}/inboxes/{inbox}", {"smtp_password": "p\x00"}, "smtp_password"),
        ("PATCH", f"{API}/inboxes/{inbox}", {"smtp_host": "smtp\x00.example.com"}, "smtp_host"),
        ("PATCH", f"{API}/me", {"full_name": "Anna\x00"}, "full_name"),
        ("PUT", link, {**JIRA, "email": "a\x00@example.com"}, "jira.email"),
        ("PUT", link, {**JIRA, "api_token": "t\x00"}, "jira.api_token"),
        ("PUT", link, {**JIRA, "issue_type": "Task\x00"}, "jira.issue_type"),
    ]  # fmt: skip


async def test_nul_and_control_characters_in_stored_text(
    client: httpx.AsyncClient, me: Seeded
) -> None:
    for method, path, body, field in _cases(me):
        response = await client.request(method, path, json=body, headers=me.auth)
        assert response.status_code == 422, (method, path, body, response.text)
        errors = field_errors(response)
        assert field in errors and errors[field]["code"] in (
            "invalid_characters",
            "string_pattern_mismatch",
        ), (path, body, errors)


async def test_a_keyword_with_a_control_character(client: httpx.AsyncClient, me: Seeded) -> None:
    response = await client.put(
        f"{API}/boards/{me.boards[0]['id']}/keywords",
        json={"keywords": ["printer", "toner\x00"]},
        headers=me.auth,
    )
    error = invalid_characters(response, "keywords")
    assert error["params"] == {"index": 1, "position": 5, "character": "U+0000"}


async def test_no_line_breaks_in_what_reaches_a_mail_header(
    client: httpx.AsyncClient, me: Seeded
) -> None:
    response = await client.post(submit(me), json={**REPORT, "name": "Jan\nBcc: x@example.org"})
    invalid_characters(response, "name")


async def test_a_pasted_line_break_in_a_title_is_folded_never_a_header(
    client: httpx.AsyncClient, me: Seeded
) -> None:
    """A reporter's title is kept (a paste is no error), on one line: the
    acknowledgement's Subject gains no header."""
    hostile = "Printer jams\r\nBcc: everyone@example.org"
    response = await client.post(submit(me), json={**REPORT, "title": hostile})
    assert response.status_code == 201, response.text
    status = await client.get(f"{API}/public/tickets/{response.json()['uuid']}")
    assert status.json()["title"] == "Printer jams Bcc: everyone@example.org"


async def test_mailbox_commands_cannot_be_smuggled(client: httpx.AsyncClient, me: Seeded) -> None:
    """A folder, username or password goes into an IMAP or SMTP command line."""
    for field, value in [
        ("imap_folder", "INBOX\r\nA1 DELETE INBOX"),
        ("imap_username", "help\r\nA1 LOGOUT"),
        ("imap_password", "secret\r\n"),
        ("smtp_password", "a\nb"),
    ]:
        response = await client.patch(
            f"{API}/inboxes/{me.inbox['id']}", json={field: value}, headers=me.auth
        )
        if field == "imap_password":  # the trailing CRLF is whitespace: stripped, accepted
            assert response.status_code == 200, response.text
            continue
        invalid_characters(response, field)


async def test_multi_line_text_keeps_its_lines(client: httpx.AsyncClient, me: Seeded) -> None:
    """Descriptions and comments are several lines: tab, LF and CR stay allowed."""
    sent = await client.post(
        submit(me), json={**REPORT, "description": "Line 1\r\nLine 2\n\tindented"}
    )
    assert sent.status_code == 201, sent.text
    moved = await client.post(
        f"{API}/tickets/{me.ticket_id}/transitions",
        json={"to_state": "in_progress", "comment": "On it.\nSee you.", "internal_note": "a\tb"},
        headers=me.auth,
    )
    assert moved.status_code == 200, moved.text
    # A title ending in a newline (pasted) is trimmed, not refused.
    trimmed = await client.post(submit(me), json={**REPORT, "title": "Pasted\n"})
    assert trimmed.status_code == 201, trimmed.text


LONE_SURROGATE = '"\\ud800"'  # valid JSON; no UTF-8 can encode it


def raw_json(template: str) -> bytes:
    return template.replace("<S>", LONE_SURROGATE).encode()


@pytest.mark.parametrize(
    ("path", "template", "field"),
    [
        ("/public/boards/{public_id}/tickets", '{"title": "T", "email": "j@example.org", "description": <S>}', "description"),  # noqa: E501
        ("/auth/register", '{"email": "n@example.com", "full_name": "N", "password": <S>}', "password"),  # noqa: E501
        ("/auth/login", '{"email": "nobody@example.com", "password": <S>}', "password"),
        ("/auth/login", '{"email": "anna@example.com", "password": <S>}', "password"),
        ("/auth/refresh", '{"refresh_token": <S>}', "refresh_token"),
        ("/auth/logout", '{"refresh_token": <S>}', "refresh_token"),
        ("/auth/verify-email", '{"token": <S>}', "token"),
        ("/auth/password-reset/confirm", '{"token": <S>, "new_password": "long enough"}', "token"),
        ("/auth/password-reset/confirm", '{"token": "t", "new_password": <S>}', "new_password"),
    ],
)  # fmt: skip
async def test_lone_surrogates(
    client: httpx.AsyncClient, me: Seeded, path: str, template: str, field: str
) -> None:
    """They parse from JSON into a Python str, and then cannot be hashed or stored.

    (pydantic's own JSON parsing refuses some first, as `string_unicode` or `string_type`.)
    """
    response = await client.post(
        API + path.format(public_id=me.boards[0]["public_id"]),
        content=raw_json(template),
        headers={"Content-Type": "application/json"},
    )
    error = field_errors(response)[field]
    assert error["code"] in ("invalid_characters", "string_unicode", "string_type"), error


# --- ids -----------------------------------------------------------------------


async def test_ids_beyond_bigint_in_every_path(
    app: FastAPI, client: httpx.AsyncClient, me: Seeded
) -> None:
    """Every manager route with an id in its path: in range but unknown is a 404, out of
    PostgreSQL's bigint range a 422 naming the parameter (it was a 500)."""
    document = app.openapi()
    for operation in id_operations(document):
        body = body_for(document, operation, me)
        for value, status, code in [
            (MAX_ID, 404, None),
            (MAX_ID + 1, 422, "less_than_equal"),
            (2**64, 422, "less_than_equal"),
            (10**40, 422, "less_than_equal"),
            (0, 422, "greater_than_equal"),
            (-1, 422, "greater_than_equal"),
        ]:
            [path] = fill(operation, {p: [value] for p in operation.path_params})
            response = await client.request(operation.method, path, json=body, headers=me.auth)
            assert response.status_code == status, (operation.method, path, response.text)
            if code:
                errors = field_errors(response)
                assert errors[operation.path_params[0]]["code"] == code, errors


async def test_ids_beyond_bigint_in_bodies(client: httpx.AsyncClient, me: Seeded) -> None:
    assign = await client.post(
        f"{API}/standby/{me.unrouted_item_id}/assign", json={"board_id": 2**63}, headers=me.auth
    )
    assert field_errors(assign)["board_id"]["code"] == "less_than_equal"
    for method, path in [
        ("POST", f"{API}/boards"),
        ("PATCH", f"{API}/boards/{me.boards[0]['id']}"),
    ]:
        response = await client.request(
            method, path, json={"name": "Big", "email_inbox_id": 2**64}, headers=me.auth
        )
        assert field_errors(response)["email_inbox_id"]["code"] == "less_than_equal"


def cursor_of(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        cursor_of({"t": "2026-01-01T00:00:00+00:00", "i": 2**64}),
        cursor_of({"t": "2026-01-01T00:00:00+00:00", "i": -(2**70)}),
        cursor_of({"t": "2026-01-01T00:00:00+00:00"}),
        cursor_of({"t": 5, "i": 1}),
        cursor_of([1, 2]),  # type: ignore[arg-type]
        "\x00",
        "%%%",
    ],
)
async def test_a_forged_cursor_is_a_422(client: httpx.AsyncClient, me: Seeded, cursor: str) -> None:
    response = await client.get(f"{API}/boards", params={"cursor": cursor}, headers=me.auth)
    assert field_errors(response)["cursor"]["code"] == "invalid_cursor"


async def test_public_ids_nothing_could_match(client: httpx.AsyncClient, me: Seeded) -> None:
    """A NUL in the public path was a 500 (the query carried it); now simply unknown."""
    for public_id in ["%00", "a%00b", "x" * 500, "%F0%9F%98%80", "..%2F..%2Fetc"]:
        for answer in (
            await client.get(f"{API}/public/boards/{public_id}"),
            await client.post(f"{API}/public/boards/{public_id}/tickets", json=REPORT),
        ):
            assert answer.status_code == 404, (public_id, answer.text)
            assert answer.json()["code"] in ("board_unavailable", "not_found")
        status = await client.get(f"{API}/public/tickets/{public_id}")
        assert status.status_code == 404, (public_id, status.text)


# --- JSON ----------------------------------------------------------------------


def invalid_json(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid_json", body
    [error] = body["errors"]
    assert (error["field"], error["code"]) == ("body", "json_invalid"), error
    return error  # type: ignore[no-any-return]


async def post_raw(
    client: httpx.AsyncClient, path: str, content: bytes, content_type: str = "application/json"
) -> httpx.Response:
    return await client.post(
        f"{API}{path}", content=content, headers={"Content-Type": content_type}
    )


@pytest.mark.parametrize(
    ("content", "position"),
    [(b"{", 1), (b'{"email": "a@example.com",', 26), (b'{"email" 1}', 9), (b"nul", 0), (b"[1,", 3)],
)
async def test_malformed_json_names_no_field(
    client: httpx.AsyncClient, content: bytes, position: int
) -> None:
    error = invalid_json(await post_raw(client, "/auth/login", content))
    assert error["params"] == {"position": position}


async def test_a_body_that_is_not_utf8(client: httpx.AsyncClient) -> None:
    for content in (b'{"email": "\xff\xfe"}', b"\xc3\x28", b'{"email": "caf\xe9@example.com"}'):
        error = invalid_json(await post_raw(client, "/auth/login", content))
        assert error["params"] == {}


async def test_deeply_nested_json(client: httpx.AsyncClient, me: Seeded) -> None:
    # Deeper than the parser goes.
    invalid_json(await post_raw(client, "/auth/login", b"[" * 100_000 + b"]" * 100_000))
    invalid_json(await post_raw(client, "/auth/login", b'{"a":' * 50_000 + b"1" + b"}" * 50_000))
    # Deep, but parsed: the schema refuses it.
    nested = json.dumps({"keywords": json.loads("[" * 500 + "]" * 500)})
    response = await client.put(
        f"{API}/boards/{me.boards[0]['id']}/keywords",
        content=nested,
        headers={**me.auth, "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text


async def test_numbers_json_allows_and_we_do_not(client: httpx.AsyncClient, me: Seeded) -> None:
    # An integer of 5,000 digits: Python refuses to convert it (CVE-2020-10735).
    invalid_json(await post_raw(client, "/auth/login", b'{"email": ' + b"9" * 5000 + b"}"))
    for literal in (b"NaN", b"Infinity", b"-Infinity", b"1e400", b"1.5"):
        response = await client.post(
            f"{API}/standby/{me.unrouted_item_id}/assign",
            content=b'{"board_id": ' + literal + b"}",
            headers={**me.auth, "Content-Type": "application/json"},
        )
        assert "board_id" in field_errors(response), literal


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "application/octet-stream",
        "image/png",
        "application/json; charset=utf-16",
        "nonsense",
        "",
    ],
)
async def test_wrong_content_types(client: httpx.AsyncClient, content_type: str) -> None:
    body = json.dumps({"email": "anna@example.com", "password": PASSWORD}).encode()
    response = await post_raw(client, "/auth/login", body, content_type)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["code"] in ("validation_error", "invalid_json", "invalid_credentials")


@pytest.mark.parametrize("content", [b'"a string"', b"[]", b"42", b"null", b"true"])
async def test_json_that_is_not_an_object(client: httpx.AsyncClient, content: bytes) -> None:
    response = await post_raw(client, "/auth/login", content)
    assert response.status_code == 422 and response.json()["code"] == "validation_error"


# --- size ----------------------------------------------------------------------


def limit_of(settings: Settings) -> int:
    return settings.MAX_REQUEST_BODY_BYTES


def assert_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    body = response.json()
    assert body["code"] == "payload_too_large" and body["detail"]
    assert set(body) == {"detail", "code"}


async def test_a_declared_length_over_the_limit(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, me: Seeded
) -> None:
    before = await snapshot(db)
    big = json.dumps({**REPORT, "description": "x" * limit_of(settings)}).encode()
    assert_too_large(
        await client.post(submit(me), content=big, headers={"Content-Type": "application/json"})
    )
    assert await snapshot(db) == before
    # The answer passes through the rest of the stack: the request id and headers.
    response = await client.post(f"{API}/auth/login", content=big)
    assert_too_large(response)
    assert response.headers["x-request-id"] and response.headers["x-content-type-options"]


async def test_a_streamed_body_over_the_limit(
    client: httpx.AsyncClient, settings: Settings, me: Seeded
) -> None:
    """No Content-Length (chunked): the chunks are counted as they are read."""
    chunk = b" " * 65536

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"title": "T", "email": "jan@example.org", "description": "'
        for _ in range(limit_of(settings) // len(chunk) + 1):
            yield chunk
        yield b'"}'

    response = await client.post(
        submit(me), content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_too_large(response)


async def test_a_body_at_the_limit_is_read(client: httpx.AsyncClient, settings: Settings) -> None:
    body = json.dumps({"email": "anna@example.com", "password": "x"})
    padded = (body[:-1] + " " * (limit_of(settings) - len(body)) + "}").encode()
    assert len(padded) == limit_of(settings)
    response = await client.post(
        f"{API}/auth/login", content=padded, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401, response.text  # read and checked, not refused for size


async def test_the_limit_comes_before_the_body_is_read() -> None:
    """With a Content-Length over the limit the application is never called and not
    one chunk is received."""
    called: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        called.append("app")

    async def receive() -> Message:
        called.append("receive")
        return {"type": "http.request", "body": b"x", "more_body": False}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = BodyLimitMiddleware(inner, max_bytes=1024)
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"content-length", b"1025"), (b"content-type", b"application/json")],
    }
    await middleware(scope, receive, send)
    assert called == []
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["code"] == "payload_too_large"
