"""The error shape, health and readiness, OpenAPI, request ids, CORS (the SPA: test_spa_serving)."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, EmailStr, Field
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.core.config import Settings
from app.core.errors import Conflict
from app.main import create_app


class Probe(BaseModel):
    email: EmailStr
    title: str = Field(min_length=1, max_length=10)


def _probe_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/probe")
    log = logging.getLogger("app.probe")

    @router.post("")
    async def create(body: Probe) -> dict[str, str]:
        log.info("probe created")
        return {"title": body.title}

    @router.post("/conflict")
    async def conflict() -> None:
        raise Conflict("That is already done.", code="already_resolved")

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    return router


def with_probe(app: FastAPI) -> FastAPI:
    app.include_router(_probe_router())
    return app


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    return with_probe(app)


async def test_health(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200


async def test_not_ready_when_the_database_does_not_answer(settings: Settings) -> None:
    dead = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    app = create_app(settings, engine=dead)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/ready")
    await dead.dispose()
    assert response.status_code == 503
    assert response.json() == {
        "detail": "The database does not answer.",
        "code": "database_unavailable",
    }


async def test_validation_errors_name_each_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/probe", json={"email": "nope", "title": ""})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert isinstance(body["detail"], str)
    assert {e["field"]: e["code"] for e in body["errors"]} == {
        "email": "value_error.email",
        "title": "string_too_short",
    }
    assert all(e["message"] for e in body["errors"])


async def test_malformed_json_is_invalid_json(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/probe", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_json"
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("body", "json_invalid")]


async def test_domain_errors_keep_their_code(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/probe/conflict")
    assert response.status_code == 409
    assert response.json() == {"detail": "That is already done.", "code": "already_resolved"}


async def test_unknown_api_paths_and_methods(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not found.", "code": "not_found"}
    wrong_method = await client.delete("/health")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"


async def test_unexpected_errors_do_not_leak_internals(
    settings: Settings, engine: AsyncEngine
) -> None:
    app = with_probe(create_app(settings, engine=engine))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/api/v1/probe/boom")
    assert response.status_code == 500
    assert response.json() == {
        "detail": "Something went wrong on our side.",
        "code": "internal_error",
    }


async def test_openapi_schema_and_docs_page(client: httpx.AsyncClient) -> None:
    schema = await client.get("/api/openapi.json")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "Simple Issue Tracker"
    assert "/health" in schema.json()["paths"]
    docs = await client.get("/api/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


async def test_every_line_of_a_request_carries_its_request_id(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    from app.core.logging import ContextFilter

    caplog.handler.addFilter(ContextFilter())
    caplog.set_level(logging.INFO)
    response = await client.post(
        "/api/v1/probe",
        json={"email": "a@example.com", "title": "ok"},
        headers={"X-Request-ID": "req-12345678"},
    )
    assert response.headers["X-Request-ID"] == "req-12345678"
    lines = [r for r in caplog.records if r.name in ("app.probe", "app.access")]
    assert {r.name for r in lines} == {"app.probe", "app.access"}
    assert all(getattr(r, "request_id", None) == "req-12345678" for r in lines)


async def test_a_request_without_an_id_gets_one(client: httpx.AsyncClient) -> None:
    first = await client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    second = await client.get("/health")
    ids = {first.headers["X-Request-ID"], second.headers["X-Request-ID"]}
    assert len(ids) == 2 and "bad id with spaces" not in ids


async def test_cors_allows_only_configured_origins(settings: Settings, engine: AsyncEngine) -> None:
    configured = settings.model_copy(update={"CORS_ORIGINS": "https://app.example"})
    app = create_app(configured, engine=engine)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            allowed = await client.get("/health", headers={"Origin": "https://app.example"})
            other = await client.get("/health", headers={"Origin": "https://evil.example"})
    assert allowed.headers.get("access-control-allow-origin") == "https://app.example"
    assert "access-control-allow-origin" not in other.headers
    assert json.loads(allowed.text) == {"status": "ok"}
