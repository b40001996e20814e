"""FastAPI's exception handlers: every error, ours or the framework's, in the one shape."""

from __future__ import annotations

import logging
import math
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.database import database_unavailable_cause
from app.core.errors import AppError, error_body
from app.core.redaction import redact_path

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _field_message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "Invalid value."))
    # Pydantic prefixes messages of plain ValueErrors with "Value error, ".
    return message.removeprefix("Value error, ")


# EmailStr fails with the generic type `value_error`; its message is what tells it apart.
_EMAIL_MESSAGE = "value is not a valid email address"


def _field_code(error: dict[str, Any]) -> str:
    code = str(error.get("type") or "value_error")
    if code == "value_error" and str(error.get("msg", "")).startswith(_EMAIL_MESSAGE):
        return "value_error.email"
    return code


def _is_json_safe(value: Any) -> bool:
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list | tuple):
        return all(_is_json_safe(v) for v in value)
    return False


def _field_params(error: dict[str, Any]) -> dict[str, Any]:
    """The error's context values a client can use (`max_length`, `expected`…).

    Others, such as the exception object of a plain ValueError, are left out.
    """
    context: dict[str, Any] = error.get("ctx") or {}
    return {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in context.items()
        if _is_json_safe(value)
    }


def _field_error(error: dict[str, Any]) -> dict[str, Any]:
    return {
        "field": _field_name(tuple(error.get("loc", ()))),
        "message": _field_message(error),
        "code": _field_code(error),
        "params": _field_params(error),
    }


def _unparsable_body_at(error: dict[str, Any]) -> int | None:
    """Where the body stops being JSON, if this is FastAPI's report of that.

    FastAPI turns a JSONDecodeError into one `json_invalid` error at `("body", position)`.
    """
    loc = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid" and len(loc) == 2 and loc[0] == "body":
        if isinstance(loc[1], int):
            return loc[1]
    return None


def _invalid_json(message: str, params: dict[str, Any]) -> JSONResponse:
    """422 `invalid_json`: one error for the body as a whole, never a made-up field."""
    field_error = {"field": "body", "message": message, "code": "json_invalid", "params": params}
    return JSONResponse(
        error_body("The request body is not valid JSON.", "invalid_json", errors=[field_error]),
        status_code=422,
    )


def _json_syntax_error(error: dict[str, Any], position: int) -> JSONResponse:
    reason = str((error.get("ctx") or {}).get("error") or "JSON decode error")
    return _invalid_json(
        f"not valid JSON: {reason} (at character {position})", {"position": position}
    )


def _undecodable_body(exc: StarletteHTTPException) -> str | None:
    """Why FastAPI could not decode a JSON body, if its 400 says it could not.

    FastAPI answers 400 "There was an error parsing the body" when decoding raised
    something else than a JSONDecodeError; the cause is kept on the exception.
    """
    cause = exc.__cause__
    if exc.status_code != 400:
        return None
    if isinstance(cause, UnicodeDecodeError):
        return "the body is not UTF-8 text"
    if isinstance(cause, RecursionError):
        return "arrays or objects are nested too deeply"
    if isinstance(cause, ValueError):  # e.g. an integer of thousands of digits
        return "a value cannot be read"
    return None


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    extra = {"errors": exc.errors} if exc.errors else {}
    return JSONResponse(
        error_body(exc.detail, exc.code, **extra), status_code=exc.status_code, headers=exc.headers
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw = list(exc.errors())
    for error in raw:
        position = _unparsable_body_at(error)
        if position is not None:
            return _json_syntax_error(error, position)
    return JSONResponse(
        error_body(
            "Some fields are invalid.", "validation_error", errors=[_field_error(e) for e in raw]
        ),
        status_code=422,
    )


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    undecodable = _undecodable_body(exc)
    if undecodable is not None:
        return _invalid_json(f"not valid JSON: {undecodable}", {})
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else "The request failed."
    if exc.status_code == 404:
        detail = "Not found."
    elif exc.status_code == 405:
        detail = "This method is not allowed here."
    return JSONResponse(error_body(detail, code), status_code=exc.status_code, headers=exc.headers)


# How long a client should wait before trying again when the database is away: about
# what a restart of PostgreSQL takes.
DATABASE_RETRY_AFTER_SECONDS = 5
# What the driver and the pool raise when the database is away (OSError covers a
# refused connection and asyncpg's timeouts); each is checked before it becomes a 503.
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    SQLAlchemyError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)


def _type_name(error: BaseException) -> str:
    """`ConnectionRefusedError`, `sqlalchemy.exc.TimeoutError` (not the built-in one)."""
    kind = type(error)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """503 `database_unavailable` when the database did not answer, in one warning line
    (an outage under load would otherwise print a traceback per request). Any other
    error of these types goes on to the generic 500."""
    cause = database_unavailable_cause(exc)
    if cause is None:
        raise exc
    log.warning(
        "database unavailable",
        # Types only: the message of a database error may quote the statement's values.
        extra={
            "error": _type_name(cause),
            "raised": _type_name(exc),
            "path": redact_path(request.url.path),
        },
    )
    return JSONResponse(
        error_body("The database does not answer.", "database_unavailable"),
        status_code=503,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(
        error_body("Something went wrong on our side.", "internal_error"), status_code=500
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for database_error in DATABASE_ERRORS:
        app.add_exception_handler(database_error, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)
