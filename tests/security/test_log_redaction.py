"""A report's UUID is its secret status link: no log line may carry it."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from app.core.config import Settings
from app.core.logging import configure_logging
from app.core.redaction import redact_path, redact_uuids
from tests.fakes.jira import FakeJira
from tests.fakes.server import Answer, Request
from tests.integrations.conftest import Stack, jira_settings

LogOutput = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def log_output(settings: Settings) -> Iterator[LogOutput]:
    """Logging set up as `serve` does (JSON lines), written to a buffer; a function
    that reads the lines written since its last call."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging(settings)
    buffer = io.StringIO()
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(buffer)

    def read() -> list[dict[str, Any]]:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return [json.loads(line) for line in text.splitlines()]

    yield read
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def access_paths(lines: list[dict[str, Any]]) -> list[str]:
    return [line["path"] for line in lines if line["logger"] == "app.access"]


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/t/{uuid}", "/t/…"),
        ("/t/{hex}", "/t/…"),
        ("/api/v1/public/tickets/{uuid}", "/api/v1/public/tickets/…"),
        ("/api/v1/public/tickets/{hex}", "/api/v1/public/tickets/…"),
        ("/api/v1/public/tickets/{uuid}/extra", "/api/v1/public/tickets/…/extra"),
        ("/api/v1/public/tickets/{uuid}x", "/api/v1/public/tickets/…"),  # nearly one
        ("/somewhere/{uuid}", "/somewhere/…"),
    ],
)
async def test_the_access_line_leaves_the_report_uuid_out(
    client: httpx.AsyncClient, log_output: LogOutput, path: str, logged: str
) -> None:
    report = uuid.uuid4()
    await client.get(path.format(uuid=report, hex=report.hex))
    lines = log_output()
    assert access_paths(lines) == [logged]
    text = json.dumps(lines)
    assert str(report) not in text and report.hex not in text


async def test_a_real_status_lookup_is_logged_without_its_uuid(
    stack: Stack, log_output: LogOutput
) -> None:
    board = await stack.board("Plain", None)
    report_uuid = await stack.report(board)
    log_output()
    status = await stack.client.get(f"/api/v1/public/tickets/{report_uuid}")
    assert status.status_code == 200 and status.json()["uuid"] == report_uuid
    lines = log_output()
    assert access_paths(lines) == ["/api/v1/public/tickets/…"]
    assert report_uuid not in json.dumps(lines)


async def test_a_platform_error_quoting_the_uuid_is_logged_without_it(
    stack: Stack, jira: FakeJira, log_output: LogOutput, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jira's answer quotes the label that carries the report's UUID; the forwarder's
    log lines say what failed without repeating it."""
    quoting: list[Any] = []

    def handle(request: Request) -> Answer:
        """A failing Jira that repeats what it was sent: the label on a create, the
        JQL on the search a retry makes first. 503: retried until the last attempt."""
        fields = (request.body or {}).get("fields", {})
        quoted = fields.get("labels") or request.query.get("jql")
        quoting.append(quoted)
        return Answer(503, {"errorMessages": [f"Cannot handle {quoted} now."]})

    monkeypatch.setattr(jira, "handle", handle)
    board = await stack.board("Jira", None)
    await stack.client.put(
        f"/api/v1/boards/{board['id']}/integration", json=jira_settings(jira), headers=stack.auth
    )
    report_uuid = await stack.report(board)
    await stack.forward_all()
    lines = log_output()
    assert any(report_uuid in str(quoted) for quoted in quoting)
    messages = [line["message"] for line in lines]
    assert "forward failed; will retry" in messages
    assert "forward failed; waiting in standby" in messages
    for line in lines:
        if line["message"].startswith("forward failed"):
            assert "sit-…" in line["error"]
    assert report_uuid not in json.dumps(lines)


def test_redaction_rules() -> None:
    report = uuid.uuid4()
    assert redact_path(f"/t/{report}") == "/t/…"
    assert redact_path(f"//t/{report}") == "//t/…"
    assert redact_path("/boards/12/tickets") == "/boards/12/tickets"
    assert redact_uuids(f"label sit-{report} refused") == "label sit-… refused"
    assert redact_uuids(f"{str(report).upper()}") == "…"
    # A request id (32 hex characters) in a message is not a report UUID's form.
    assert redact_uuids("request " + "ab" * 16) == "request " + "ab" * 16


def test_a_traceback_quoting_a_uuid_is_logged_without_it(log_output: LogOutput) -> None:
    secret = str(uuid.uuid4())
    try:
        raise ValueError(f"no report {secret.upper()}")
    except ValueError:
        logging.getLogger("app.example").exception("lookup of %s failed", secret)
    [line] = [line for line in log_output() if line["logger"] == "app.example"]
    assert secret.lower() not in json.dumps(line).lower()
    assert line["message"] == "lookup of … failed"
    assert "ValueError: no report …" in line["exc_info"]
