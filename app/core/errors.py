"""One error shape everywhere: `{"detail": "a sentence", "code": "snake_case_code"}`."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ErrorResponse(BaseModel):
    detail: str
    code: str


class FieldError(BaseModel):
    field: str = Field(
        description="The field's dotted path (`email`, `keywords`, `limit`); `body` for the body"
    )
    message: str = Field(description="An English sentence; clients translate by `code`")
    code: str = Field(
        description="Stable code of the problem (pydantic's error type or the project's own; "
        "see docs/api.md)",
        examples=["string_too_long"],
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description='The values the message depends on, e.g. `{"max_length": 255}`; `{}` when none',
        examples=[{"max_length": 255}],
    )


class ValidationErrorResponse(ErrorResponse):
    """422: `code` is `validation_error`, or `invalid_json` for a body that is not JSON."""

    errors: list[FieldError]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "detail": "Some fields are invalid.",
                    "code": "validation_error",
                    "errors": [
                        {
                            "field": "title",
                            "message": "String should have at most 255 characters",
                            "code": "string_too_long",
                            "params": {"max_length": 255},
                        }
                    ],
                }
            ]
        }
    )


class AppError(Exception):
    """A domain error with a stable code; the handler turns it into the error shape."""

    status_code = 400
    code = "bad_request"
    detail = "The request could not be processed."
    headers: dict[str, str] | None = None
    # Most errors undo the request's writes. Some must keep them although the request
    # fails: a failed login's throttle counters, a reused refresh token's revoked family.
    keep_changes = False
    # Per-field problems, for 422 answers raised by services (the shape of FieldError).
    errors: list[dict[str, Any]] | None = None

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        keep_changes: bool | None = None,
    ) -> None:
        super().__init__(detail or self.detail)
        if detail:
            self.detail = detail
        if code:
            self.code = code
        if keep_changes is not None:
            self.keep_changes = keep_changes


class ValidationFailed(AppError):
    """A field is wrong in a way only the service can tell (e.g. an inbox of someone else).

    `code` and `params` are the field error's (see FieldError); the answer's own code
    stays `validation_error`.
    """

    status_code = 422
    code = "validation_error"
    detail = "Some fields are invalid."

    def __init__(
        self, field: str, message: str, code: str, *, params: dict[str, Any] | None = None
    ) -> None:
        super().__init__()
        self.errors = [{"field": field, "message": message, "code": code, "params": params or {}}]


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    detail = "Not found."


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    detail = "The request conflicts with the current state."


class NotAuthenticated(AppError):
    status_code = 401
    code = "not_authenticated"
    detail = "Missing, malformed, expired or revoked credentials."
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"
    detail = "You may not do this."


class TooManyRequests(AppError):
    status_code = 429
    code = "rate_limited"
    detail = "Too many requests; try again later."

    def __init__(
        self,
        detail: str | None = None,
        *,
        retry_after: int | None = None,
        keep_changes: bool | None = None,
    ) -> None:
        super().__init__(detail, keep_changes=keep_changes)
        if retry_after is not None:
            self.headers = {"Retry-After": str(max(1, retry_after))}


class BadRequest(AppError):
    status_code = 400
    code = "bad_request"


class Accepted(BaseModel):
    """The answer of a 202: what will happen."""

    detail: str


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error answers a route may give, in the one error shape."""
    return {
        code: {"model": ValidationErrorResponse if code == 422 else ErrorResponse} for code in codes
    }


# What the OpenAPI schema shows for the shared error answers.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Not authenticated"},
    404: {"model": ErrorResponse, "description": "Not found"},
    422: {"model": ValidationErrorResponse, "description": "Validation error"},
}

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


def error_body(detail: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"detail": detail, "code": code, **extra}


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


def _invalid_json(error: dict[str, Any], position: int) -> JSONResponse:
    reason = str((error.get("ctx") or {}).get("error") or "JSON decode error")
    field_error = {
        "field": "body",
        "message": f"not valid JSON: {reason} (at character {position})",
        "code": "json_invalid",
        "params": {"position": position},
    }
    return JSONResponse(
        error_body("The request body is not valid JSON.", "invalid_json", errors=[field_error]),
        status_code=422,
    )


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
            return _invalid_json(error, position)
    return JSONResponse(
        error_body(
            "Some fields are invalid.", "validation_error", errors=[_field_error(e) for e in raw]
        ),
        status_code=422,
    )


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else "The request failed."
    if exc.status_code == 404:
        detail = "Not found."
    elif exc.status_code == 405:
        detail = "This method is not allowed here."
    return JSONResponse(error_body(detail, code), status_code=exc.status_code, headers=exc.headers)


async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(
        error_body("Something went wrong on our side.", "internal_error"), status_code=500
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


# --- accounts ---------------------------------------------------------------


class EmailAlreadyRegistered(Conflict):
    code = "email_already_registered"
    detail = "An account with this email address already exists."


class InvalidCredentials(AppError):
    status_code = 401
    code = "invalid_credentials"
    detail = "The email address or the password is wrong."


class EmailNotVerified(Forbidden):
    code = "email_not_verified"
    detail = "Confirm your email address first: follow the link we sent you."


class AccountSuspended(Forbidden):
    code = "account_suspended"
    detail = "This account is suspended."


class InvalidToken(BadRequest):
    code = "invalid_token"
    detail = "The link is invalid, expired or already used."


# --- boards and tickets -----------------------------------------------------


class BoardNameTaken(Conflict):
    code = "board_name_taken"
    detail = "You already have a board with this name."


class InvalidTransition(Conflict):
    code = "invalid_transition"
    detail = "The ticket cannot move to that state from its current one."


class BoardUnavailable(NotFound):
    code = "board_unavailable"
    detail = "This board does not exist or no longer accepts reports."


# --- inboxes ----------------------------------------------------------------


class InboxNameTaken(Conflict):
    code = "inbox_name_taken"
    detail = "You already have an inbox with this name."


# --- standby ----------------------------------------------------------------


class AlreadyResolved(Conflict):
    code = "already_resolved"
    detail = "This item has already been resolved."


class WrongStandbyKind(Conflict):
    code = "wrong_kind"
    detail = "This action does not apply to this kind of item."
