"""A limit on request bodies (MAX_REQUEST_BODY_BYTES), enforced before they are read.

A pure ASGI middleware, so it sees the body as it arrives rather than once a
framework has buffered all of it:

- a `Content-Length` above the limit is answered 413 at once; the application is not
  called and not one byte of the body is read;
- without one (chunked transfer), the chunks are counted as the application reads
  them, and the read that crosses the limit raises `PayloadTooLarge` instead of
  returning: the route never sees a partial body, and the error handlers turn the
  exception into the same 413 (should it escape them, this middleware answers it).

The answer is the one error shape: `{"detail", "code": "payload_too_large"}`.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import error_body

PAYLOAD_TOO_LARGE = "payload_too_large"


class PayloadTooLarge(HTTPException):
    """The body grew past the limit while it was being read (413)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(status_code=413, detail=too_large_detail(max_bytes))


def too_large_detail(max_bytes: int) -> str:
    return f"The request body is larger than the limit of {max_bytes} bytes."


def too_large_response(max_bytes: int) -> JSONResponse:
    # The rest of the body is never read, so the connection cannot carry another request.
    return JSONResponse(
        error_body(too_large_detail(max_bytes), PAYLOAD_TOO_LARGE),
        status_code=413,
        headers={"Connection": "close"},
    )


def declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, when it sends a sane one."""
    value = Headers(scope=scope).get("content-length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await too_large_response(self.max_bytes)(scope, receive, send)
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise PayloadTooLarge(self.max_bytes)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except PayloadTooLarge:
            if started:
                raise
            await too_large_response(self.max_bytes)(scope, receive, send)
