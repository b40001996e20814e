"""One small interface for the platforms reports are forwarded to (Jira, Trello)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from app.core.outbound import BlockedTarget


@dataclass(frozen=True)
class Report:
    """What is forwarded: the report as the reporter gave it, and where it came from."""

    uuid: uuid.UUID
    title: str
    description: str
    reporter_email: str
    reporter_name: str | None
    source: str  # web | email
    status_url: str


@dataclass(frozen=True)
class CreatedIssue:
    external_id: str  # Jira issue key / Trello card id
    url: str  # a link a person can open


class PlatformError(Exception):
    """A call failed. `retryable`: trying again later can help (timeouts, 5xx, 429);
    `retry_after`: seconds the platform asked to wait."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


class TicketPlatform(Protocol):
    async def check(self) -> None:
        """Credentials and target (project, list) are usable; raises PlatformError."""

    async def find(self, report_uuid: uuid.UUID) -> CreatedIssue | None:
        """The issue or card already made for this report, if any."""

    async def create(self, report: Report) -> CreatedIssue:
        """Make the issue or card."""


def report_text(report: Report) -> str:
    """The text forwarded: the description, who reported it, from where, which report."""
    reporter = report.reporter_email
    if report.reporter_name:
        reporter = f"{report.reporter_name} <{report.reporter_email}>"
    return (
        f"{report.description}\n\n"
        f"Reported by: {reporter}\n"
        f"Source: {'web form' if report.source == 'web' else 'email'}\n"
        f"Report: {report.uuid}"
    )


def reference_label(report_uuid: uuid.UUID) -> str:
    """The tag written on the platform so a retry can find what a lost answer made."""
    return f"sit-{report_uuid}"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def error_text(response: httpx.Response) -> str:
    """What the API said, read the way Jira and Trello say it: JSON error fields, or a
    short plain-text line. Anything else (an HTML page, say) is not repeated: a URL
    pointing elsewhere must not turn the test button into a way to read other servers."""
    content_type = response.headers.get("content-type", "")
    if "json" in content_type:
        try:
            data = response.json()
        except ValueError:
            return ""
        if isinstance(data, dict):
            parts = [str(m) for m in data.get("errorMessages") or []]
            parts += [f"{k}: {v}" for k, v in (data.get("errors") or {}).items()]
            parts += [str(data[k]) for k in ("message", "error") if data.get(k)]
            return "; ".join(parts)[:300]
        return ""
    text = response.text.strip()
    if content_type.startswith("text/plain") and len(text) <= 200 and "\n" not in text:
        return text
    return ""


def error_from_response(platform: str, response: httpx.Response, summary: str) -> PlatformError:
    """Map an HTTP answer to a typed error, keeping the platform's own words for people."""
    status = response.status_code
    body = error_text(response)
    retryable = status == 429 or status >= 500
    retry_after = _retry_after(response)
    if status == 429 and retry_after is None and platform.lower() == "trello":
        retry_after = 10.0  # Trello's 429s carry no Retry-After: one 10-second window
    return PlatformError(
        f"{platform} answered {status} {summary}: {body or response.reason_phrase}",
        retryable=retryable,
        retry_after=retry_after,
        status=status,
    )


def error_from_transport(platform: str, exc: httpx.HTTPError) -> PlatformError:
    if isinstance(exc, httpx.TimeoutException):
        return PlatformError(f"{platform} did not answer in time", retryable=True)
    return PlatformError(f"could not reach {platform}: {type(exc).__name__} {exc}", retryable=True)


async def send(
    client: httpx.AsyncClient,
    platform: str,
    method: str,
    url: str,
    **kwargs: Any,
) -> httpx.Response:
    """One call to a platform (kwargs go to httpx: auth, headers, timeout, json …);
    transport failures come out as PlatformError. An address the outbound check refuses
    (app.core.outbound) is final: no retry will make it public."""
    try:
        return await client.request(method, url, **kwargs)
    except BlockedTarget as exc:
        raise PlatformError(f"{platform}: {exc}", retryable=False) from None
    except httpx.HTTPError as exc:
        raise error_from_transport(platform, exc) from None
