"""Routes: /auth/* and /me."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status

from app.auth import service
from app.auth.cookies import (
    REFRESH_COOKIE,
    REFRESH_COOKIE_PATH,
    SET_COOKIE_HEADER,
    RefreshCookie,
    refresh_cookie,
)
from app.auth.deps import CurrentManager
from app.auth.schemas import (
    LoginRequest,
    ManagerRead,
    ManagerUpdate,
    PasswordResetConfirm,
    PasswordResetRequest,
    RefreshRequest,
    RegisterRequest,
    TokenPair,
    TokenRequest,
)
from app.core.deps import ClientIp, SessionDep, SettingsDep
from app.core.errors import ERROR_RESPONSES, Accepted, NotAuthenticated, error_responses
from app.core.i18n import from_accept_language, pick_language

router = APIRouter(prefix="/auth", tags=["auth"])
me_router = APIRouter(prefix="/me", tags=["profile"], responses=ERROR_RESPONSES)


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=ManagerRead,
    responses=error_responses(409, 422, 429),
    summary="Create a manager account and send the verification email",
)
async def register(
    body: RegisterRequest,
    session: SessionDep,
    settings: SettingsDep,
    ip: ClientIp,
    accept_language: Annotated[str | None, Header()] = None,
) -> ManagerRead:
    manager = await service.register(
        session,
        settings,
        email=str(body.email),
        password=body.password.get_secret_value(),
        full_name=body.full_name,
        language=pick_language(body.language, from_accept_language(accept_language)),
        timezone=body.timezone,
        client_ip=ip,
    )
    return ManagerRead.model_validate(manager)


@router.post(
    "/verify-email",
    response_model=ManagerRead,
    responses=error_responses(400, 422),
    summary="Confirm the email address with the token from the verification link",
)
async def verify_email(body: TokenRequest, session: SessionDep) -> ManagerRead:
    return ManagerRead.model_validate(await service.verify_email(session, token=body.token))


@router.post(
    "/verify-email/resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=error_responses(422),
    summary="Send a new verification link (answers the same whether the account exists)",
)
async def resend_verification(
    body: PasswordResetRequest, session: SessionDep, settings: SettingsDep
) -> Accepted:
    await service.resend_verification(session, settings, email=str(body.email))
    return Accepted(detail="If an unverified account uses this address, a new link is on its way.")


@router.post(
    "/login",
    response_model=TokenPair,
    responses={200: SET_COOKIE_HEADER, **error_responses(401, 403, 422, 429)},
    summary="Sign in: an access token (15 minutes) and a refresh token",
    description="The refresh token is also set as the web app's `HttpOnly` cookie "
    f"`{REFRESH_COOKIE}` (path `{REFRESH_COOKIE_PATH}`, `SameSite=Strict`).",
)
async def login(
    body: LoginRequest, session: SessionDep, settings: SettingsDep, ip: ClientIp, response: Response
) -> TokenPair:
    pair = await service.login(
        session,
        settings,
        email=str(body.email),
        password=body.password.get_secret_value(),
        client_ip=ip,
    )
    response.headers.append("Set-Cookie", refresh_cookie(settings, pair.refresh_token))
    return pair


def _body_token(body: RefreshRequest | None) -> str | None:
    return body.refresh_token.get_secret_value() if body and body.refresh_token else None


@router.post(
    "/refresh",
    response_model=TokenPair,
    responses={200: SET_COOKIE_HEADER, **error_responses(401, 403, 422)},
    summary="Exchange a refresh token for a new pair (the old one is used up)",
    description="The token comes from the body, else from the `refresh_token` cookie; the "
    "new one is set as the cookie. A 401 clears the cookie.",
)
async def refresh(
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    cookie: RefreshCookie = None,
    body: RefreshRequest | None = None,
) -> TokenPair:
    try:
        pair = await service.refresh(session, settings, refresh_token=_body_token(body) or cookie)
    except NotAuthenticated as exc:
        exc.headers = {**(exc.headers or {}), "Set-Cookie": refresh_cookie(settings, None)}
        raise
    response.headers.append("Set-Cookie", refresh_cookie(settings, pair.refresh_token))
    return pair


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={204: SET_COOKIE_HEADER, **error_responses(422)},
    summary="End the session the refresh token (body or cookie) belongs to; clears the cookie",
)
async def logout(
    session: SessionDep,
    settings: SettingsDep,
    cookie: RefreshCookie = None,
    body: RefreshRequest | None = None,
) -> Response:
    await service.logout(session, refresh_tokens=[_body_token(body), cookie])
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.headers.append("Set-Cookie", refresh_cookie(settings, None))
    return response


@router.post(
    "/password-reset/request",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=error_responses(422),
    summary="Mail a password-reset link (answers the same whether the account exists)",
)
async def request_password_reset(
    body: PasswordResetRequest, session: SessionDep, settings: SettingsDep
) -> Accepted:
    await service.request_password_reset(session, settings, email=str(body.email))
    return Accepted(detail="If an account uses this address, a reset link is on its way.")


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(400, 422),
    summary="Set a new password with the token from the reset link; ends every session",
)
async def confirm_password_reset(body: PasswordResetConfirm, session: SessionDep) -> Response:
    await service.confirm_password_reset(
        session, token=body.token, new_password=body.new_password.get_secret_value()
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@me_router.get("", response_model=ManagerRead, summary="The signed-in manager")
async def read_me(manager: CurrentManager) -> ManagerRead:
    return ManagerRead.model_validate(manager)


@me_router.patch("", response_model=ManagerRead, summary="Change name, language or time zone")
async def update_me(
    body: ManagerUpdate, manager: CurrentManager, session: SessionDep
) -> ManagerRead:
    return ManagerRead.model_validate(await service.update_profile(session, manager, body))
