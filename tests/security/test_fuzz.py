"""Schema fuzzing: every operation of /api/openapi.json, signed in, with Schemathesis.

Two checks on every answer: `not_a_server_error` (no 5xx anywhere) and
`response_schema_conformance` (an answer whose status the schema documents matches
the documented schema). The cases are drawn from the app's own OpenAPI document,
valid ones (positive) and invalid ones (negative), first with whatever ids the
generator invents, then with the ids of a seeded manager's real objects, so that
the routes run past their 404 into the code that does the work.

It is an ordinary pytest test, so `make test` runs it. It is deterministic:
Hypothesis draws with `derandomize=True` (cases follow from the schema alone), no
example database, and the cases are drawn first and sent afterwards, in order, on
the test's own event loop through the ASGI transport (a rolled-back database, as in
every API test). Bounded: a few examples per operation and mode, well under a
minute on two cores (the test fails past TIME_BUDGET_SECONDS).

Each finding is in docs/security.md ("Fuzzing and bodies").
"""

from __future__ import annotations

import time
import warnings
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import SearchStrategy
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.config import Settings
from app.main import OPENAPI_URL
from tests.conftest import app_on
from tests.security.test_ownership import Seeded, seed_manager

BASE_URL = "http://tracker.test"
EXAMPLES = 10  # per operation, mode and set of path parameters
CHECKS = [not_a_server_error, response_schema_conformance]
TIME_BUDGET_SECONDS = 100.0


@pytest.fixture
def fuzz_app(settings: Settings, engine: AsyncEngine, db: AsyncSession) -> FastAPI:
    """The app as `app` makes it, but it never connects to a private address and
    gives up on a platform soon: fuzzed hosts must fail fast, not probe loopback."""
    fuzz_settings = settings.model_copy(
        update={"ALLOW_PRIVATE_NETWORK_TARGETS": False, "INTEGRATION_TIMEOUT_SECONDS": 2.0}
    )
    return app_on(fuzz_settings, engine, db)


@pytest.fixture
async def fuzz_client(fuzz_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with fuzz_app.router.lifespan_context(fuzz_app):
        # A 500 comes back as the answer the app sends, not as the exception behind it.
        transport = httpx.ASGITransport(app=fuzz_app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client


def draw(strategy: SearchStrategy[Case], count: int) -> list[Case]:
    """`count` cases from the strategy, the same ones on every run."""
    cases: list[Case] = []

    @hypothesis_settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(case: Case) -> None:
        cases.append(case)

    try:
        collect()
    except Unsatisfiable:  # e.g. nothing to make invalid in an operation without input
        pass
    return cases


def real_path_parameters(me: Seeded, names: list[str]) -> list[dict[str, Any]]:
    """Sets of the seeded manager's ids for an operation's path parameters."""
    known: dict[str, list[Any]] = {
        **me.ids,
        "public_id": [me.boards[0]["public_id"]],
        "report_uuid": [me.report_uuid],
    }
    if not names or any(n not in known for n in names):
        return []
    width = max(len(known[n]) for n in names)
    return [{n: known[n][i % len(known[n])] for n in names} for i in range(width)]


async def send(client: httpx.AsyncClient, case: Case, auth: dict[str, str]) -> httpx.Response:
    """The case as Schemathesis would send it (its requests-style arguments), over httpx."""
    kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=auth)
    client.cookies.clear()  # a refresh cookie from sign-in would let /auth/logout end the session
    body = {"json": kwargs["json"]} if "json" in kwargs else {"content": kwargs.get("data")}
    return await client.request(
        kwargs["method"],
        kwargs["url"],
        headers=kwargs.get("headers"),
        params=kwargs.get("params"),
        **body,
    )


async def test_fuzz_every_operation(
    fuzz_app: FastAPI, fuzz_client: httpx.AsyncClient, db: AsyncSession
) -> None:
    started = time.monotonic()
    me = await seed_manager(fuzz_client, db, "fuzz@example.com", tag="f")
    document = (await fuzz_client.get(OPENAPI_URL)).json()
    schema = schemathesis.openapi.from_dict(document)
    operations: list[APIOperation] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"Schemathesis cannot read an operation: {result.err()}"
        operations.append(result.ok())
    # What deletes goes last, so that the other operations meet the objects first.
    operations.sort(key=lambda operation: operation.method.upper() == "DELETE")
    assert len(operations) >= 40

    failures: list[str] = []
    sent = 0
    for operation in operations:
        names = [p.name for p in operation.path_parameters]
        fixed: list[dict[str, Any] | None] = [None, *real_path_parameters(me, names)]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for path_parameters in fixed:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    strategy = operation.as_strategy(mode, path_parameters=path_parameters)
                    cases = draw(strategy, EXAMPLES)
                for case in cases:
                    response = await send(fuzz_client, case, me.auth)
                    sent += 1
                    try:
                        case.validate_response(response, checks=CHECKS)
                    except (FailureGroup, Failure) as exc:
                        failures.append(
                            f"{operation.label} ({mode.value}) → {response.status_code} "
                            f"{response.text[:300]}\n  {type(exc).__name__}: "
                            f"{str(exc).strip().splitlines()[0][:300]}\n  {case.as_curl_command()}"
                        )
    elapsed = time.monotonic() - started
    print(f"fuzz: {len(operations)} operations, {sent} requests, {elapsed:.1f} s")  # with -s
    assert not failures, f"{len(failures)} failing cases:\n\n" + "\n\n".join(failures[:30])
    assert elapsed < TIME_BUDGET_SECONDS, f"the fuzz test took {elapsed:.0f} s"
