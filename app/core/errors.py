"""One error shape everywhere: `{"detail": "a sentence", "code": "snake_case_code"}`.

The errors a service raises, and the schema of the answer; app/core/error_handlers.py
turns them (and FastAPI's own) into that answer.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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


def error_body(detail: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"detail": detail, "code": code, **extra}


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


class OAuthNotConfigured(Conflict):
    code = "oauth_provider_not_configured"
    detail = (
        "Signing in with this provider is not set up on this server: the operator sets its "
        "client id and secret (docs/email.md)."
    )


class SignsInWithOAuth(Conflict):
    code = "inbox_signs_in_with_oauth2"
    detail = (
        "This inbox signs in with its provider, not a password: reconnect it, or set "
        "auth_kind to password to use passwords instead."
    )


# --- standby ----------------------------------------------------------------


class AlreadyResolved(Conflict):
    code = "already_resolved"
    detail = "This item has already been resolved."


class WrongStandbyKind(Conflict):
    code = "wrong_kind"
    detail = "This action does not apply to this kind of item."
