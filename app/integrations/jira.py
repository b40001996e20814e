"""Jira Cloud REST v3: an issue per report, its description in Atlassian Document Format."""

from __future__ import annotations

import uuid

import httpx

from app.integrations.base import (
    CreatedIssue,
    PlatformError,
    Report,
    error_from_response,
    reference_label,
    report_text,
    send,
)

SUMMARY_MAX = 255


def adf(text: str) -> dict[str, object]:
    """Plain text as an ADF document: a paragraph per line (an empty one for a blank
    line), never an empty text node."""
    content = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []}
        for line in text.splitlines() or [""]
    ]
    return {"type": "doc", "version": 1, "content": content}


class JiraCloud:
    def __init__(
        self,
        *,
        site_url: str,
        email: str,
        api_token: str,
        project_key: str,
        issue_type: str,
        client: httpx.AsyncClient,
        timeout: float,
        require_https: bool = False,
    ) -> None:
        self.site = site_url.rstrip("/")
        self.require_https = require_https
        self.project_key = project_key
        self.issue_type = issue_type
        self.client = client
        self.auth = httpx.BasicAuth(email, api_token)
        self.timeout = timeout

    async def _call(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        if self.require_https and httpx.URL(self.site).scheme != "https":
            # Basic auth over plain HTTP would hand the API token to anyone on the path.
            raise PlatformError(
                f"The Jira site must be an https:// address, not {self.site}.", retryable=False
            )
        return await send(
            self.client,
            "Jira",
            method,
            f"{self.site}{path}",
            timeout=self.timeout,
            auth=self.auth,
            headers={"Accept": "application/json"},
            **kwargs,
        )

    async def check(self) -> None:
        me = await self._call("GET", "/rest/api/3/myself")
        if me.status_code != 200:
            raise error_from_response("Jira", me, "to the credentials check")
        project = await self._call("GET", f"/rest/api/3/project/{self.project_key}")
        if project.status_code != 200:
            raise error_from_response("Jira", project, f"for project {self.project_key}")

    async def find(self, report_uuid: uuid.UUID) -> CreatedIssue | None:
        response = await self._call(
            "GET",
            "/rest/api/3/search/jql",
            params={"jql": f'labels = "{reference_label(report_uuid)}"', "fields": "key"},
        )
        if response.status_code != 200:
            raise error_from_response("Jira", response, "to the search")
        issues = response.json().get("issues") or []
        if not issues:
            return None
        key = str(issues[0]["key"])
        return CreatedIssue(external_id=key, url=f"{self.site}/browse/{key}")

    async def create(self, report: Report) -> CreatedIssue:
        fields = {
            "project": {"key": self.project_key},
            "issuetype": {"name": self.issue_type},
            "summary": " ".join(report.title.split())[:SUMMARY_MAX],
            "description": adf(report_text(report)),
            "labels": [reference_label(report.uuid)],
        }
        response = await self._call("POST", "/rest/api/3/issue", json={"fields": fields})
        if response.status_code != 201:
            raise error_from_response("Jira", response, "to the new issue")
        try:
            key = str(response.json()["key"])
        except (ValueError, KeyError):
            raise PlatformError("Jira's answer named no issue key", retryable=True) from None
        return CreatedIssue(external_id=key, url=f"{self.site}/browse/{key}")
