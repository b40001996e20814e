"""The web app's refresh-token cookie.

The SPA never sees its refresh token: login and refresh put it in an `HttpOnly`
cookie that the browser sends only to the auth routes (`Path=/api/v1/auth`) and
only from this site (`SameSite=Strict`), so script injected into a page cannot
read it and another site cannot make the browser spend it.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Annotated, Any

from fastapi import Cookie

from app.auth.tokens import REFRESH_TOKEN_TTL
from app.core.config import Settings

REFRESH_COOKIE = "refresh_token"
# Where the auth router is mounted (app.main includes it under /api/v1).
REFRESH_COOKIE_PATH = "/api/v1/auth"

RefreshCookie = Annotated[
    str | None,
    Cookie(
        alias=REFRESH_COOKIE,
        description="The refresh token of the web app, set by login and refresh (HttpOnly)",
    ),
]

# What the OpenAPI schema says of the answers that set or clear the cookie.
SET_COOKIE_HEADER: dict[str, Any] = {
    "headers": {
        "Set-Cookie": {
            "description": f"`{REFRESH_COOKIE}`: HttpOnly; SameSite=Strict; "
            f"Path={REFRESH_COOKIE_PATH}; Secure in production",
            "schema": {"type": "string"},
        }
    }
}


def refresh_cookie(settings: Settings, token: str | None) -> str:
    """The `Set-Cookie` value storing `token` for its lifetime, or clearing the cookie (None)."""
    jar: SimpleCookie = SimpleCookie()
    jar[REFRESH_COOKIE] = token or ""
    morsel = jar[REFRESH_COOKIE]
    morsel["path"] = REFRESH_COOKIE_PATH
    morsel["max-age"] = int(REFRESH_TOKEN_TTL.total_seconds()) if token else 0
    if not token:
        morsel["expires"] = "Thu, 01 Jan 1970 00:00:00 GMT"
    morsel["httponly"] = True
    morsel["samesite"] = "Strict"
    if settings.is_production:
        morsel["secure"] = True
    return morsel.OutputString()
