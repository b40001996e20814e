"""The server leaves what start-up made out of later garbage collections."""

from __future__ import annotations

import gc

from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from app.main import create_app


async def test_the_server_freezes_its_start_up_objects_and_a_test_app_does_not(
    settings: Settings, engine: AsyncEngine
) -> None:
    plain = create_app(settings, engine=engine)
    async with plain.router.lifespan_context(plain):
        assert gc.get_freeze_count() == 0
    served = create_app(settings, engine=engine, freeze_startup_objects=True)
    try:
        async with served.router.lifespan_context(served):
            # The modules, the app and its pools: a good many objects.
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()  # the rest of the test run collects as usual
