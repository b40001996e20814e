"""PathOnlyRoute (app/core/routes.py): the status link's route, and what it refuses."""

from __future__ import annotations

from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request, Response

from app.core.deps import get_settings_dep
from app.core.routes import PathOnlyRoute
from app.tickets.public import router as public_router


def test_the_status_link_is_served_by_a_path_only_route() -> None:
    route = next(
        r
        for r in public_router.routes
        if getattr(r, "path", None) == "/public/tickets/{report_uuid}"
    )
    assert isinstance(route, PathOnlyRoute)


async def test_the_endpoint_gets_the_request_and_the_path_as_text() -> None:
    seen: list[tuple[str, str]] = []

    async def show(request: Request, name: str, rest: str) -> Response:
        seen.append((request.url.path, name + "|" + rest))
        return Response("ok")

    router = APIRouter()
    router.add_api_route("/x/{name}/{rest}", show, route_class_override=PathOnlyRoute)
    app = FastAPI()
    app.include_router(router, prefix="/api")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = await client.get("/api/x/%C5%BC%C3%B3%C5%82w/12")
    assert answer.text == "ok"
    assert seen == [("/api/x/żółw/12", "żółw|12")]


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
    ],
)
def test_an_endpoint_that_needs_more_than_the_path_is_refused_when_the_route_is_made(
    path: str, endpoint: object
) -> None:
    router = APIRouter()
    with pytest.raises(TypeError, match="PathOnlyRoute"):
        router.add_api_route(path, endpoint, route_class_override=PathOnlyRoute)  # type: ignore[arg-type]
