"""ASGI middleware: request ids with one access line per request, and security headers."""

from __future__ import annotations

import functools
import logging
import os
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.logging import info_line, request_id_var
from app.core.redaction import redact_path

access_log = logging.getLogger("app.access")

_REQUEST_ID_OK = re.compile(r"[A-Za-z0-9._-]{8,64}")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# The SPA loads only its own bundle: no inline script or style, no plugins, no
# framing.
SPA_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'; object-src 'none'"
)
# Everything else answers JSON, which has nothing to load and no business in a frame.
# The API docs page sets its own policy (main.py), which this one does not replace.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The status page's URL (/t/<uuid>) is a secret: neither it nor the public API that
# carries the same UUID may send a Referer anywhere. Elsewhere the URL may go to our
# own origin only.
SECRET_URL_REFERRER = "no-referrer"
DEFAULT_REFERRER = "same-origin"
_SECRET_URL_PREFIXES = ("/t", "/api/v1/public")
# Answers of the API carry tokens and personal data: no browser or proxy keeps them.
# (The OpenAPI document and /health live outside /api/v1.)
_NO_STORE_PREFIX = "/api/v1"
HSTS = "max-age=63072000; includeSubDomains"
_NOT_SPA = ("/health", "/ready", "/api")


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def is_spa_path(path: str) -> bool:
    """Paths the SPA answers: all but the API and the operational endpoints."""
    return not any(_under(path, prefix) for prefix in _NOT_SPA)


Header = tuple[bytes, bytes]


@functools.cache
def _security_headers(
    secret_url: bool, spa: bool, no_store: bool, hsts: bool
) -> tuple[tuple[Header, ...], tuple[Header, ...]]:
    """The headers of one kind of path: those an answer keeps when it sets its own,
    and those that replace the answer's (built once per kind, as raw ASGI headers)."""
    defaults = {**SECURITY_HEADERS, "Content-Security-Policy": SPA_CSP if spa else API_CSP}
    fixed = {"Referrer-Policy": SECRET_URL_REFERRER if secret_url else DEFAULT_REFERRER}
    if no_store:
        fixed["Cache-Control"] = "no-store"
    if hsts:
        fixed["Strict-Transport-Security"] = HSTS

    def raw(headers: dict[str, str]) -> tuple[Header, ...]:
        return tuple((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())

    return raw(defaults), raw(fixed)


def with_security_headers(
    headers: list[Header], path: str, request_id: bytes, *, hsts: bool
) -> list[Header]:
    """An answer's raw headers with the request id and the headers every answer gets,
    by what its path is (see the constants above)."""
    defaults, fixed = _security_headers(
        any(_under(path, prefix) for prefix in _SECRET_URL_PREFIXES),
        is_spa_path(path),
        _under(path, _NO_STORE_PREFIX),
        hsts,
    )
    replaced = {b"x-request-id", *(name for name, _ in fixed)}
    kept = [(name, value) for name, value in headers if name.lower() not in replaced]
    present = {name.lower() for name, _ in kept}
    return [
        *kept,
        *(header for header in defaults if header[0] not in present),
        *fixed,
        (b"x-request-id", request_id),
    ]


def _request_id(scope: Scope) -> str:
    """A sane incoming X-Request-ID, else a new one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            incoming = value.decode("latin-1")
            if _REQUEST_ID_OK.fullmatch(incoming):
                return incoming
            break
    return os.urandom(16).hex()


class RequestContextMiddleware:
    """Gives every request an id (or keeps a sane incoming X-Request-ID), adds the
    security headers and logs the request once, with report UUIDs left out of the path.
    `hsts`: send Strict-Transport-Security (production, served over https)."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        raw_id = request_id.encode("latin-1")
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = with_security_headers(
                    list(message.get("headers") or ()), scope["path"], raw_id, hsts=self.hsts
                )
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            info_line(
                access_log,
                "request",
                {
                    "method": scope["method"],
                    "path": redact_path(scope["path"]),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            request_id_var.reset(token)
