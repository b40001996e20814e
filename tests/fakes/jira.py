"""A local Jira Cloud (REST v3) that checks what the real one checks."""

from __future__ import annotations

import base64
import itertools
import re
from typing import Any

from tests.fakes.server import Answer, FakeServer, Request

ISSUE_TYPES = {"Task", "Bug"}


def adf_problem(doc: Any) -> str | None:
    """What the real API would refuse in an Atlassian Document Format document."""
    if not isinstance(doc, dict) or doc.get("type") != "doc" or doc.get("version") != 1:
        return "Operation value must be an Atlassian Document"
    for block in doc.get("content", []):
        if block.get("type") != "paragraph" or not isinstance(block.get("content"), list):
            return "unsupported block"
        for node in block["content"]:
            if node.get("type") == "text" and not node.get("text"):
                return "text nodes must not be empty"
            if node.get("type") not in ("text", "hardBreak"):
                return "unsupported inline node"
    return None


class FakeJira(FakeServer):
    def __init__(self, email: str = "bot@example.com", token: str = "jira-token") -> None:
        super().__init__()
        self.email, self.token = email, token
        self.projects = {"HELP"}
        self.issues: list[dict[str, Any]] = []
        self._ids = itertools.count(10000)

    def _authorized(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.email}:{self.token}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    def is_create(self, request: Request) -> bool:
        return request.method == "POST" and request.path == "/rest/api/3/issue"

    def failure(self, status: int, request: Request) -> Answer:
        if status == 429:
            return Answer(429, {"errorMessages": ["Rate limit exceeded."]}, {"Retry-After": "1"})
        if status == 401:
            return Answer(401, "Client must be authenticated to access this resource.")
        if status == 404:
            return Answer(404, {"errorMessages": ["Not found"], "errors": {}})
        return Answer(status, {"errorMessages": ["Internal server error"], "errors": {}})

    def handle(self, request: Request) -> Answer:
        if not self._authorized(request):
            return Answer(401, {"message": "Client must be authenticated"})
        if request.method == "GET" and request.path == "/rest/api/3/myself":
            return Answer(
                200, {"accountId": "5b10a2844c20165700ede21g", "emailAddress": self.email}
            )
        if match := re.fullmatch(r"/rest/api/3/project/([^/]+)", request.path):
            if match.group(1) in self.projects:
                return Answer(200, {"key": match.group(1), "id": "10000"})
            return Answer(
                404,
                {
                    "errorMessages": [f"No project could be found with key '{match.group(1)}'."],
                    "errors": {},
                },
            )
        if request.method == "GET" and request.path == "/rest/api/3/search/jql":
            label = re.search(r'labels\s*=\s*"([^"]+)"', request.query.get("jql", ""))
            found = [i for i in self.issues if label and label.group(1) in i["labels"]]
            return Answer(200, {"issues": [{"id": i["id"], "key": i["key"]} for i in found]})
        if self.is_create(request):
            return self._create(request.body)
        return Answer(404, {"errorMessages": ["Not found"], "errors": {}})

    def _create(self, body: Any) -> Answer:
        fields = (body or {}).get("fields") or {}
        errors: dict[str, str] = {}
        if (fields.get("project") or {}).get("key") not in self.projects:
            errors["project"] = "valid project is required"
        if (fields.get("issuetype") or {}).get("name") not in ISSUE_TYPES:
            errors["issuetype"] = "Specify a valid issue type"
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        elif len(summary) > 255:
            errors["summary"] = "Summary must be less than 255 characters."
        if (problem := adf_problem(fields.get("description"))) is not None:
            errors["description"] = problem
        labels = fields.get("labels") or []
        if any(" " in label for label in labels):
            errors["labels"] = "The label must not contain spaces."
        if errors:
            return Answer(400, {"errorMessages": [], "errors": errors})
        number = next(self._ids)
        key = f"{fields['project']['key']}-{len(self.issues) + 1}"
        self.issues.append({"id": str(number), "key": key, "labels": labels, "fields": fields})
        return Answer(
            201, {"id": str(number), "key": key, "self": f"{self.url}/rest/api/3/issue/{number}"}
        )
