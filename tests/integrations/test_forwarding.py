"""Reports of connected boards reach Jira or Trello once and exactly once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, update

from app.integrations.models import ExternalTicket
from app.standby.models import StandbyQueueItem
from tests.fakes.jira import FakeJira
from tests.fakes.trello import FakeTrello
from tests.integrations.conftest import Stack, jira_settings, trello_settings


async def pending_standby(stack: Stack) -> list[dict[str, Any]]:
    response = await stack.client.get("/api/v1/standby", headers=stack.auth)
    return response.json()["items"]  # type: ignore[no-any-return]


async def test_integration_settings_hide_their_secret(stack: Stack, jira: FakeJira) -> None:
    board = await stack.board("Jira board", jira_settings(jira))
    assert board["integration"] == {
        "platform": "jira",
        "site_url": jira.url,
        "email": jira.email,
        "project_key": "HELP",
        "issue_type": "Task",
        "has_api_token": True,
    }
    check = await stack.client.post(
        f"/api/v1/boards/{board['id']}/integration/test", headers=stack.auth
    )
    assert check.json() == {"ok": True, "error": None}
    await stack.client.put(
        f"/api/v1/boards/{board['id']}/integration",
        json=jira_settings(jira, api_token="wrong"),
        headers=stack.auth,
    )
    failed = (
        await stack.client.post(
            f"/api/v1/boards/{board['id']}/integration/test", headers=stack.auth
        )
    ).json()
    assert failed["ok"] is False and "401" in failed["error"]
    bad = await stack.client.put(
        f"/api/v1/boards/{board['id']}/integration",
        json={"platform": "jira", "site_url": "not a url"},
        headers=stack.auth,
    )
    assert bad.status_code == 422
    removed = await stack.client.delete(
        f"/api/v1/boards/{board['id']}/integration", headers=stack.auth
    )
    assert removed.json()["integration"] is None


@pytest.mark.parametrize("platform", ["jira", "trello"])
async def test_a_report_is_pending_then_forwarded_once(
    stack: Stack, jira: FakeJira, trello: FakeTrello, platform: str
) -> None:
    settings = jira_settings(jira) if platform == "jira" else trello_settings(trello)
    board = await stack.board(f"{platform} board", settings)
    report_uuid = await stack.report(board)
    pending = await stack.status(report_uuid)
    assert (pending["kind"], pending["status"], pending["platform"]) == (
        "external",
        "pending",
        platform,
    )
    assert pending["external_url"] is None
    await stack.forward_all()
    created = await stack.status(report_uuid)
    assert created["status"] == "created" and created["external_url"]
    made = jira.issues if platform == "jira" else trello.cards
    assert len(made) == 1
    listed = (
        await stack.client.get(f"/api/v1/boards/{board['id']}/external-tickets", headers=stack.auth)
    ).json()["items"]
    assert listed[0]["status"] == "created" and listed[0]["external_id"]


@pytest.mark.parametrize("failure", ["drop_after_create", "timeout"])
@pytest.mark.parametrize("platform", ["jira", "trello"])
async def test_an_unknown_outcome_is_looked_up_not_created_twice(
    stack: Stack, jira: FakeJira, trello: FakeTrello, platform: str, failure: str
) -> None:
    fake = jira if platform == "jira" else trello
    settings = jira_settings(jira) if platform == "jira" else trello_settings(trello)
    board = await stack.board(f"{platform} {failure}", settings)
    report_uuid = await stack.report(board)
    fake.fail_next(failure)
    await stack.forward_all()
    assert (await stack.status(report_uuid))["status"] == "created"
    made = jira.issues if platform == "jira" else trello.cards
    assert len(made) == 1, made  # made once, found again, never made twice


@pytest.mark.parametrize("platform", ["jira", "trello"])
async def test_server_errors_and_rate_limits_are_retried(
    stack: Stack, jira: FakeJira, trello: FakeTrello, platform: str
) -> None:
    fake = jira if platform == "jira" else trello
    settings = jira_settings(jira) if platform == "jira" else trello_settings(trello)
    board = await stack.board(f"{platform} retries", settings)
    report_uuid = await stack.report(board)
    fake.fail_next("500")
    zero_backoff = stack.forwarder.settings
    stack.forwarder.settings = zero_backoff.model_copy(update={"FORWARD_RETRY_BASE_SECONDS": 60})
    await stack.forwarder.step()
    async with stack.sessions() as session:
        row = await session.scalar(select(ExternalTicket))
    assert row is not None and row.status == "pending" and "500" in (row.last_error or "")
    assert row.next_attempt_at is not None and row.updated_at is not None
    assert (row.next_attempt_at - row.updated_at).total_seconds() >= 45  # backoff, jittered
    async with stack.sessions() as session, session.begin():
        await session.execute(update(ExternalTicket).values(next_attempt_at=func.now()))
    stack.forwarder.settings = zero_backoff
    await stack.forward_all()
    assert (await stack.status(report_uuid))["status"] == "created"

    second = await stack.report(board, "Second")
    fake.fail_next("429")
    await stack.forwarder.step()
    async with stack.sessions() as session:
        waiting = await session.scalar(
            select(ExternalTicket).where(ExternalTicket.title == "Second")
        )
    assert waiting is not None and waiting.status == "pending"
    assert waiting.next_attempt_at is not None and waiting.updated_at is not None
    # Retry-After (Jira: 1 s) or Trello's own window (10 s) is honoured.
    wait = (waiting.next_attempt_at - waiting.updated_at).total_seconds()
    assert wait >= (0.9 if platform == "jira" else 9.5)
    assert (await stack.status(second))["status"] == "pending"


async def test_failures_that_retrying_cannot_fix_wait_in_standby(
    stack: Stack, jira: FakeJira
) -> None:
    board = await stack.board("Jira 401", jira_settings(jira))
    report_uuid = await stack.report(board)
    jira.fail_next("401")
    await stack.forward_all()
    assert (await stack.status(report_uuid))["status"] == "failed"
    [item] = await pending_standby(stack)
    assert (item["kind"], item["reason"]) == ("failed_external", "platform_error")
    assert "401" in item["payload"]["last_error"]
    assert item["payload"]["title"] == "Printer jams"
    assert len(jira.issues) == 0


async def test_attempts_run_out_into_standby(stack: Stack, jira: FakeJira) -> None:
    board = await stack.board("Jira 500", jira_settings(jira))
    report_uuid = await stack.report(board)
    jira.fail_next("500", "500", "500", "500", "500", "500")
    await stack.forward_all()
    assert (await stack.status(report_uuid))["status"] == "failed"
    async with stack.sessions() as session:
        external = await session.scalar(select(ExternalTicket))
        items = list(await session.scalars(select(StandbyQueueItem)))
    assert external is not None and external.attempts == stack.settings.FORWARD_MAX_ATTEMPTS
    assert len(items) == 1


async def test_a_worker_that_lost_its_lease_saves_nothing(
    stack: Stack, jira: FakeJira, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from app.core.clock import clock
    from app.integrations.jira import JiraCloud

    board = await stack.board("Slow jira", jira_settings(jira))
    report_uuid = await stack.report(board)
    real_create = JiraCloud.create
    taken_over = clock.now() + timedelta(hours=1)

    async def slow_create(self: JiraCloud, report: Any) -> Any:
        issue = await real_create(self, report)
        # Meanwhile the lease ran out and another worker claimed the report.
        async with stack.sessions() as session, session.begin():
            await session.execute(
                update(ExternalTicket)
                .where(ExternalTicket.uuid == report_uuid)
                .values(lease_until=taken_over)
            )
        return issue

    monkeypatch.setattr(JiraCloud, "create", slow_create)
    assert await stack.forwarder.step() == 1
    async with stack.sessions() as session:
        row = await session.scalar(select(ExternalTicket).where(ExternalTicket.uuid == report_uuid))
    assert row is not None
    assert (row.status, row.external_id, row.lease_until) == ("pending", None, taken_over)
