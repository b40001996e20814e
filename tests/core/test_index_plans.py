"""Connections whose statements are each made for an index (the direct pool's, the
worker's) plan with sequential scans off: a plan a connection made while a table was
empty keeps reading all of it as the table grows (app/core/database._connect_args)."""

from __future__ import annotations

from sqlalchemy import text

from app.core.config import Settings, normalize_database_url
from app.core.database import make_direct_pool, make_engine


async def _shown(engine_url: str, settings: Settings, *, index_plans: bool) -> tuple[str, str]:
    engine = make_engine(engine_url, settings, index_plans=index_plans)
    try:
        async with engine.connect() as connection:
            scans = (await connection.execute(text("SHOW enable_seqscan"))).scalar_one()
            timeout = (await connection.execute(text("SHOW statement_timeout"))).scalar_one()
            return str(scans), str(timeout)
    finally:
        await engine.dispose()


async def test_the_worker_engine_plans_for_indexes_and_the_app_engine_does_not(
    settings: Settings,
) -> None:
    url = normalize_database_url(str(settings.DATABASE_URL))
    # The manager's queries (the app's engine) are planned as PostgreSQL sees fit.
    assert await _shown(url, settings, index_plans=False) == ("on", "15s")
    # The worker's, the ingest's among them, take their indexes; the timeout stays.
    assert await _shown(url, settings, index_plans=True) == ("off", "15s")


async def test_the_direct_pool_plans_for_indexes(settings: Settings) -> None:
    engine = make_engine(normalize_database_url(str(settings.DATABASE_URL)), settings)
    pool = await make_direct_pool(engine, settings)
    try:
        async with pool.acquire() as connection:
            assert await connection.fetchval("SHOW enable_seqscan") == "off"
            assert await connection.fetchval("SHOW statement_timeout") == "15s"
    finally:
        await pool.close()
        await engine.dispose()
