"""LeanRoute (app/core/routes.py): the status link's and the form's routes, what they
refuse when made, and bodies answered exactly as FastAPI's own route answers them."""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Body, Depends, FastAPI, Header, Request, Response
from pydantic import BaseModel, EmailStr, Field
from starlette.routing import Route

from app.core.config import Settings
from app.core.deps import get_settings_dep
from app.core.error_handlers import install_error_handlers
from app.core.routes import LeanRoute
from app.main import create_app


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/v1/public/tickets/{report_uuid}", "GET"),
        ("/api/v1/public/boards/{public_id}/tickets", "POST"),
    ],
)
def test_the_busiest_public_routes_are_lean_and_matched_first(
    settings: Settings, path: str, method: str
) -> None:
    routes = create_app(settings).router.routes
    [found] = [
        at
        for at, r in enumerate(routes)
        if getattr(r, "path", None) == path and method in getattr(r, "methods", ())
    ]
    assert isinstance(routes[found], LeanRoute)
    # On the app's own router, before every included router: matched by its pattern
    # alone, not walked through an included router's routes twice.
    first_included = min(at for at, r in enumerate(routes) if not isinstance(r, Route))
    assert found < first_included


async def test_the_endpoint_gets_the_request_and_the_path_as_text() -> None:
    seen: list[tuple[str, str]] = []

    async def show(request: Request, name: str, rest: str) -> Response:
        seen.append((request.url.path, name + "|" + rest))
        return Response("ok")

    router = APIRouter()
    router.add_api_route("/x/{name}/{rest}", show, route_class_override=LeanRoute)
    app = FastAPI()
    app.include_router(router, prefix="/api")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = await client.get("/api/x/%C5%BC%C3%B3%C5%82w/12")
    assert answer.text == "ok"
    assert seen == [("/api/x/żółw/12", "żółw|12")]


class Report(BaseModel):
    title: str = Field(min_length=1, max_length=20)
    email: EmailStr
    count: int = 0


async def echo(
    request: Request,
    name: str,
    body: Report,
    accept_language: Annotated[str | None, Header()] = None,
) -> Response:
    seen = {"path": name, "body": body.model_dump(), "language": accept_language}
    return Response(json.dumps(seen), media_type="application/json")


def twin_routes() -> FastAPI:
    """The same endpoint behind FastAPI's own route and behind a LeanRoute."""
    app = FastAPI()
    install_error_handlers(app)
    router = APIRouter()
    router.add_api_route("/fastapi/{name}", echo, methods=["POST"])
    router.add_api_route("/lean/{name}", echo, methods=["POST"], route_class_override=LeanRoute)
    app.include_router(router)
    return app


JSON = {"content-type": "application/json"}
GOOD = b'{"title": "Printer", "email": "Jan@Example.ORG"}'


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (GOOD, JSON),
        (GOOD, {**JSON, "accept-language": "pl"}),
        (GOOD, {"content-type": "application/vnd.tracker+json; charset=utf-8"}),
        (GOOD, {"content-type": "text/plain"}),
        (GOOD, {}),  # no content type: not read as JSON
        (b"", JSON),
        (b"null", JSON),
        (b"[1, 2]", JSON),
        (b'"text"', JSON),
        (b'{"title": "Printer", "email": ', JSON),  # cut off
        (b'{"title": "", "email": "nobody", "count": "many"}', JSON),
        (b'{"title": "x" , "email": "jan@example.org", "extra": 1}', JSON),
        ('{"title": "Zażółć", "email": "jan@example.org"}'.encode("utf-16"), JSON),
        (b'{"title": "\xff", "email": "jan@example.org"}', JSON),  # not UTF-8
        (b"[" * 100_000 + b"]" * 100_000, JSON),  # nested too deep
        (b'{"title": "x", "email": "jan@example.org", "count": ' + b"9" * 5000 + b"}", JSON),
    ],
)
async def test_a_body_is_answered_as_fastapi_answers_it(
    content: bytes, headers: dict[str, str]
) -> None:
    transport = httpx.ASGITransport(app=twin_routes())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answers = [
            await client.post(f"/{kind}/żółw", content=content, headers=headers)
            for kind in ("fastapi", "lean")
        ]
    fastapi, lean = ((a.status_code, a.json()) for a in answers)
    assert lean == fastapi


def test_the_documentation_of_a_lean_route_is_fastapi_s() -> None:
    schema: dict[str, Any] = twin_routes().openapi()
    fastapi, lean = (schema["paths"][f"/{kind}/{{name}}"]["post"] for kind in ("fastapi", "lean"))
    for operation in (fastapi, lean):
        operation.pop("operationId")
        operation.pop("summary")
    assert lean == fastapi
    assert "requestBody" in lean and lean["parameters"][1]["name"] == "accept-language"


async def embeds(request: Request, body: Annotated[Report, Body(embed=True)]) -> Response:
    return Response()


async def two_bodies(request: Request, one: Report, two: Report) -> Response:
    return Response()


async def reads_a_number(
    request: Request, count: Annotated[int | None, Header()] = None
) -> Response:
    return Response()


async def needs_settings(
    request: Request, name: str, settings: Annotated[object, Depends(get_settings_dep)]
) -> Response:
    return Response()


async def converts(request: Request, number: int) -> Response:
    return Response()


async def asks_a_query(request: Request, name: str, page: int = 1) -> Response:
    return Response()


async def misses_a_path_parameter(request: Request) -> Response:
    return Response()


@pytest.mark.parametrize(
    ("path", "endpoint"),
    [
        ("/{name}", needs_settings),
        ("/{number:int}", converts),
        ("/{number}", converts),
        ("/{name}", asks_a_query),
        ("/{name}", misses_a_path_parameter),
        ("/", embeds),
        ("/", two_bodies),
        ("/", reads_a_number),
    ],
)
def test_an_endpoint_that_needs_more_than_the_path_is_refused_when_the_route_is_made(
    path: str, endpoint: object
) -> None:
    router = APIRouter()
    with pytest.raises(TypeError, match="LeanRoute"):
        router.add_api_route(path, endpoint, route_class_override=LeanRoute)  # type: ignore[arg-type]
