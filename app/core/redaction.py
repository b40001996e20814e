"""Report UUIDs are secrets: whoever has one reads the report's status page. They
are kept out of every log line: paths are written with them replaced, and text that
may quote one (a platform's error, say) is scrubbed before it is logged."""

from __future__ import annotations

import re

REDACTED = "…"
# Every path that carries a report's UUID: the status page and its API.
_REPORT_PATH = re.compile(r"(/t/|/api/v1/public/tickets/)[^/]*")
_DASHED_UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE
)
# In a path a UUID may come without dashes too (FastAPI accepts both forms).
_PLAIN_UUID = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])", re.IGNORECASE)


def redact_uuids(text: str) -> str:
    """`text` with every UUID (the canonical, dashed form) replaced by "…"."""
    return _DASHED_UUID.sub(REDACTED, text)


def redact_path(path: str) -> str:
    """A request path as it may be logged: the segment after /t/ and
    /api/v1/public/tickets/ replaced (a mistyped UUID is nearly a secret too), and
    any other UUID-shaped segment as well."""
    path = _REPORT_PATH.sub(lambda match: match.group(1) + REDACTED, path)
    return _PLAIN_UUID.sub(REDACTED, redact_uuids(path))
