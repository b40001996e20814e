"""Every 422 field error carries a stable `code` and its `params`, through the real routes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.auth.helpers import PASSWORD, register, signed_in
from tests.boards.test_boards_api import make_board

API = "/api/v1"


def field_errors(response: httpx.Response) -> dict[str, dict[str, Any]]:
    """The answer's field errors by field, after checking the shape every 422 shares."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation_error" and isinstance(body["detail"], str)
    for error in body["errors"]:
        assert set(error) == {"field", "message", "code", "params"}, error
        assert error["message"] and isinstance(error["params"], dict)
    return {e["field"]: e for e in body["errors"]}


def only_error(response: httpx.Response) -> dict[str, Any]:
    [error] = field_errors(response).values()
    return error


async def test_a_missing_field(client: httpx.AsyncClient) -> None:
    errors = field_errors(await client.post(f"{API}/auth/login", json={}))
    assert {f: (e["code"], e["params"]) for f, e in errors.items()} == {
        "email": ("missing", {}),
        "password": ("missing", {}),
    }


@pytest.mark.parametrize(
    ("overrides", "field", "code", "params"),
    [
        ({"full_name": ""}, "full_name", "string_too_short", {"min_length": 1}),
        ({"full_name": "x" * 201}, "full_name", "string_too_long", {"max_length": 200}),
        ({"language": "de"}, "language", "literal_error", {"expected": "'en' or 'pl'"}),
        ({"password": "short"}, "password", "password_too_short", {"min_length": 8}),
        ({"password": "x" * 129}, "password", "password_too_long", {"max_length": 128}),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "invalid_timezone", {}),
    ],
)
async def test_sign_up_field_errors(
    client: httpx.AsyncClient,
    overrides: dict[str, str],
    field: str,
    code: str,
    params: dict[str, Any],
) -> None:
    error = only_error(await register(client, **overrides))  # type: ignore[arg-type]
    assert (error["field"], error["code"], error["params"]) == (field, code, params)


@pytest.mark.parametrize(
    "email", ["not-an-email", "two@@example.com", "anna@", "x" * 300 + "@example.com"]
)
async def test_a_bad_email_address(client: httpx.AsyncClient, email: str) -> None:
    error = only_error(
        await client.post(f"{API}/auth/password-reset/request", json={"email": email})
    )
    assert (error["field"], error["code"]) == ("email", "value_error.email")
    # The reason is English for people; clients translate by the code.
    assert set(error["params"]) <= {"reason"}


async def test_the_messages_of_custom_errors_fill_in_their_params(
    client: httpx.AsyncClient,
) -> None:
    error = only_error(await register(client, password="short"))
    assert error["message"] == "must be at least 8 characters long"


async def test_a_malformed_json_body(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{API}/auth/login",
        content=b'{"email": "a@example.com",',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_json" and body["detail"]
    [error] = body["errors"]
    assert (error["field"], error["code"], error["params"]) == (
        "body",
        "json_invalid",
        {"position": 26},
    )


async def test_query_and_path_errors(client: httpx.AsyncClient, db: AsyncSession) -> None:
    auth = await signed_in(client, db)
    path = only_error(await client.get(f"{API}/boards/abc", headers=auth))
    assert (path["field"], path["code"], path["params"]) == ("board_id", "int_parsing", {})
    limit = only_error(await client.get(f"{API}/boards", params={"limit": 101}, headers=auth))
    assert (limit["field"], limit["code"], limit["params"]) == (
        "limit",
        "less_than_equal",
        {"le": 100},
    )
    cursor = only_error(await client.get(f"{API}/boards", params={"cursor": "nope"}, headers=auth))
    assert (cursor["field"], cursor["code"], cursor["params"]) == ("cursor", "invalid_cursor", {})


@pytest.mark.parametrize(
    ("keywords", "code", "params"),
    [
        (["printer", "  "], "keyword_empty", {"index": 1}),
        (["ok", "x" * 101], "keyword_too_long", {"index": 1, "max_length": 100}),
        (
            ["Printer", "toner", "PRINTER"],
            "keyword_duplicate",
            {"index": 2, "keyword": "PRINTER", "duplicate_of": "Printer"},
        ),
        ([f"k{i}" for i in range(101)], "too_many_keywords", {"max_length": 100}),
    ],
)
async def test_keyword_errors(
    client: httpx.AsyncClient,
    db: AsyncSession,
    keywords: list[str],
    code: str,
    params: dict[str, Any],
) -> None:
    auth = await signed_in(client, db)
    created = await client.post(
        f"{API}/boards", json={"name": "B", "keywords": keywords}, headers=auth
    )
    error = only_error(created)
    assert (error["field"], error["code"], error["params"]) == ("keywords", code, params)
    board = await make_board(client, auth)
    replaced = await client.put(
        f"{API}/boards/{board['id']}/keywords", json={"keywords": keywords}, headers=auth
    )
    assert only_error(replaced)["code"] == code


async def test_null_where_a_field_may_only_be_left_out(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    auth = await signed_in(client, db)
    me = only_error(await client.patch(f"{API}/me", json={"full_name": None}, headers=auth))
    assert (me["field"], me["code"], me["params"]) == ("full_name", "not_null", {})
    board = await make_board(client, auth)
    renamed = await client.patch(f"{API}/boards/{board['id']}", json={"name": None}, headers=auth)
    assert (only_error(renamed)["field"], only_error(renamed)["code"]) == ("name", "not_null")
    timezone = only_error(
        await client.patch(f"{API}/me", json={"timezone": "Nowhere"}, headers=auth)
    )
    assert timezone["code"] == "invalid_timezone"


async def test_errors_found_by_a_service(client: httpx.AsyncClient, db: AsyncSession) -> None:
    auth = await signed_in(client, db)
    response = await client.post(
        f"{API}/boards", json={"name": "B", "email_inbox_id": 987654}, headers=auth
    )
    error = only_error(response)
    assert (error["field"], error["code"], error["params"]) == (
        "email_inbox_id",
        "unknown_inbox",
        {},
    )
    assert error["message"] == "none of your inboxes has this id"


async def test_the_public_form_reports_its_limits(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    board = await make_board(client, await signed_in(client, db))
    response = await client.post(
        f"{API}/public/boards/{board['public_id']}/tickets",
        json={"title": "x" * 256, "description": "", "email": "jan@example.org"},
    )
    errors = field_errors(response)
    assert (errors["title"]["code"], errors["title"]["params"]) == (
        "string_too_long",
        {"max_length": 255},
    )
    assert (errors["description"]["code"], errors["description"]["params"]) == (
        "string_too_short",
        {"min_length": 1},
    )


async def test_the_openapi_schema_shows_codes_and_params(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/api/openapi.json")).json()
    field_error = schema["components"]["schemas"]["FieldError"]
    assert {"field", "message", "code", "params"} <= set(field_error["properties"])
    assert set(field_error["required"]) == {"field", "message", "code"}
    register_422 = schema["paths"][f"{API}/auth/register"]["post"]["responses"]["422"]
    ref = register_422["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/ValidationErrorResponse")
    # No route advertises FastAPI's own 422 shape, which the API never answers.
    assert "HTTPValidationError" not in schema["components"]["schemas"]


async def test_a_valid_request_still_passes(client: httpx.AsyncClient) -> None:
    assert (await register(client, password=PASSWORD)).status_code == 201
