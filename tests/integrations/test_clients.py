"""The Jira and Trello clients against local fakes that behave like the real APIs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from app.integrations.base import PlatformError, Report, reference_label
from app.integrations.jira import JiraCloud, adf
from app.integrations.trello import Trello
from tests.fakes.jira import FakeJira, adf_problem
from tests.fakes.trello import LIST_ID, FakeTrello


def report(**overrides: object) -> Report:
    values: dict[str, object] = {
        "uuid": uuid.uuid4(),
        "title": "Printer jams",
        "description": "Line one\n\nLine three",
        "reporter_email": "jan@example.org",
        "reporter_name": "Jan Kowalski",
        "source": "web",
        "status_url": "http://tracker.test/t/x",
    }
    values.update(overrides)
    return Report(**values)  # type: ignore[arg-type]


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def jira_client(fake: FakeJira, http: httpx.AsyncClient, **overrides: str) -> JiraCloud:
    values = {
        "site_url": fake.url,
        "email": fake.email,
        "api_token": fake.token,
        "project_key": "HELP",
        "issue_type": "Task",
    }
    values.update(overrides)
    return JiraCloud(**values, client=http, timeout=1.0)  # type: ignore[arg-type]


def trello_client(fake: FakeTrello, http: httpx.AsyncClient, **overrides: str) -> Trello:
    values = {"api_key": fake.key, "token": fake.token, "list_id": LIST_ID, "base_url": fake.url}
    values.update(overrides)
    return Trello(**values, client=http, timeout=1.0)  # type: ignore[arg-type]


def test_adf_has_no_empty_text_nodes() -> None:
    document = adf("first\n\nthird")
    assert adf_problem(document) is None
    assert document["content"][1] == {"type": "paragraph", "content": []}  # type: ignore[index]


async def test_jira_creates_an_issue_with_adf_and_a_label(
    jira: FakeJira, http: httpx.AsyncClient
) -> None:
    client = jira_client(jira, http)
    await client.check()
    item = report(title="x" * 300)
    issue = await client.create(item)
    assert issue.external_id == "HELP-1" and issue.url == f"{jira.url}/browse/HELP-1"
    [stored] = jira.issues
    assert stored["labels"] == [reference_label(item.uuid)]
    assert len(stored["fields"]["summary"]) == 255
    text = str(stored["fields"]["description"])
    assert "Jan Kowalski <jan@example.org>" in text and "web form" in text
    assert await client.find(item.uuid) == issue
    assert await client.find(uuid.uuid4()) is None


async def test_jira_errors_say_whether_a_retry_helps(
    jira: FakeJira, http: httpx.AsyncClient
) -> None:
    with pytest.raises(PlatformError) as bad_token:
        await jira_client(jira, http, api_token="wrong").check()
    assert bad_token.value.status == 401 and not bad_token.value.retryable
    with pytest.raises(PlatformError) as bad_project:
        await jira_client(jira, http, project_key="NOPE").check()
    assert bad_project.value.status == 404 and "NOPE" in str(bad_project.value)
    with pytest.raises(PlatformError) as bad_type:
        await jira_client(jira, http, issue_type="Epic").create(report())
    assert bad_type.value.status == 400 and "issuetype" in str(bad_type.value)
    assert not bad_type.value.retryable
    jira.fail_next("429")
    with pytest.raises(PlatformError) as limited:
        await jira_client(jira, http).create(report())
    assert limited.value.retryable and limited.value.retry_after == 1.0
    jira.fail_next("500")
    with pytest.raises(PlatformError) as broken:
        await jira_client(jira, http).create(report())
    assert broken.value.retryable
    jira.fail_next("timeout")
    with pytest.raises(PlatformError) as slow:
        await jira_client(jira, http).create(report())
    assert slow.value.retryable and "in time" in str(slow.value)


async def test_trello_creates_a_card_with_the_uuid(
    trello: FakeTrello, http: httpx.AsyncClient
) -> None:
    client = trello_client(trello, http)
    await client.check()
    item = report(source="email", description="d" * 20_000)
    card = await client.create(item)
    [stored] = trello.cards
    assert card.external_id == stored["id"] and card.url == stored["shortUrl"]
    assert reference_label(item.uuid) in stored["desc"] and len(stored["desc"]) <= 16384
    assert "Authorization" not in str(trello.requests[-1].query)  # the token is not in URLs
    assert "token" not in trello.requests[-1].query
    assert await client.find(item.uuid) == card


async def test_trello_errors(trello: FakeTrello, http: httpx.AsyncClient) -> None:
    with pytest.raises(PlatformError) as bad_token:
        await trello_client(trello, http, token="wrong").check()
    assert bad_token.value.status == 401 and "invalid token" in str(bad_token.value)
    with pytest.raises(PlatformError) as bad_list:
        await trello_client(trello, http, list_id="0" * 24).create(report())
    assert bad_list.value.status == 400 and "idList" in str(bad_list.value)
    trello.fail_next("429")
    with pytest.raises(PlatformError) as limited:
        await trello_client(trello, http).create(report())
    assert limited.value.retryable and limited.value.retry_after == 10.0
    trello.fail_next("drop_after_create")
    with pytest.raises(PlatformError) as dropped:
        await trello_client(trello, http).create(report())
    assert dropped.value.retryable and len(trello.cards) == 1  # made, but unheard


def test_only_the_apis_own_words_are_repeated() -> None:
    from app.integrations.base import error_from_response

    def answer(status: int, body: str, content_type: str) -> httpx.Response:
        return httpx.Response(status, text=body, headers={"Content-Type": content_type})

    jira_400 = error_from_response(
        "Jira",
        answer(
            400,
            '{"errorMessages": [], "errors": {"project": "valid project is required"}}',
            "application/json",
        ),
        "to the new issue",
    )
    assert "project: valid project is required" in str(jira_400)
    trello_401 = error_from_response("Trello", answer(401, "invalid token", "text/plain"), "x")
    assert str(trello_401).endswith("invalid token")
    page = error_from_response(
        "Jira",
        answer(500, "<html><body>Internal admin console, secret stuff</body></html>", "text/html"),
        "x",
    )
    assert "secret" not in str(page) and "500" in str(page)
