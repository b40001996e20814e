"""The ceiling: the least an HTTP service on this machine can do for one request.

A bare FastAPI + asyncpg app, served by uvicorn exactly as `python -m app serve`
serves the project (uvloop + httptools, no access log, the same process count):
`POST /items` validates a JSON body like the public form's and makes one INSERT;
`GET /items/{uuid}` makes one SELECT by key. `make bench` runs it in the same run,
on the same PostgreSQL, as the yardstick for the project's own figures.

    BENCH_CEILING_DSN=postgresql://... uvicorn bench.ceiling:create_app --factory
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel

SCHEMA = """
CREATE TABLE IF NOT EXISTS bench_items (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid uuid NOT NULL UNIQUE,
    title text NOT NULL,
    description text NOT NULL,
    email text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""


class Item(BaseModel):
    title: str
    description: str
    email: str


def create_app() -> FastAPI:
    dsn = os.environ["BENCH_CEILING_DSN"]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(dsn, min_size=2, max_size=10)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(lifespan=lifespan, openapi_url=None)

    @app.post("/items", status_code=201)
    async def insert(item: Item, request: Request) -> dict[str, Any]:
        key = uuid.uuid4()
        await request.app.state.pool.execute(
            "INSERT INTO bench_items (uuid, title, description, email) VALUES ($1, $2, $3, $4)",
            key,
            item.title,
            item.description,
            item.email,
        )
        return {"uuid": str(key)}

    @app.get("/items/{key}")
    async def select(key: uuid.UUID, request: Request) -> dict[str, Any]:
        row = await request.app.state.pool.fetchrow(
            "SELECT uuid, title, created_at FROM bench_items WHERE uuid = $1", key
        )
        if row is None:
            raise HTTPException(404)
        return {"uuid": str(row["uuid"]), "title": row["title"], "created_at": row["created_at"]}

    return app
