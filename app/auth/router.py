"""Routes: /auth/* and /me."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status

from app.auth import service
from app.auth.deps import ClientIp, CurrentManager, SettingsDep
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
from app.core.errors import ERROR_RESPONSES, Accepted, error_responses
from app.core.i18n import from_accept_language, pick_language
from app.db import SessionDep

router = APIRouter(prefix="/auth", tags=["auth"])
me_router = APIRouter(prefix="/me", tags=["profile"], responses=ERROR_RESPONSES)


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=ManagerRead,
    responses=error_responses(409, 422),
    summary="Create a manager account and send the verification email",
)
async def register(
    body: RegisterRequest,
    session: SessionDep,
    settings: SettingsDep,
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
    responses=error_responses(401, 403, 422, 429),
    summary="Sign in: an access token (15 minutes) and a refresh token",
)
async def login(
    body: LoginRequest, session: SessionDep, settings: SettingsDep, ip: ClientIp
) -> TokenPair:
    return await service.login(
        session,
        settings,
        email=str(body.email),
        password=body.password.get_secret_value(),
        client_ip=ip,
    )


@router.post(
    "/refresh",
    response_model=TokenPair,
    responses=error_responses(401, 403, 422),
    summary="Exchange a refresh token for a new pair (the old one is used up)",
)
async def refresh(body: RefreshRequest, session: SessionDep, settings: SettingsDep) -> TokenPair:
    return await service.refresh(
        session, settings, refresh_token=body.refresh_token.get_secret_value()
    )


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="End the session the refresh token belongs to",
)
async def logout(body: RefreshRequest, session: SessionDep) -> Response:
    await service.logout(session, refresh_token=body.refresh_token.get_secret_value())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


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
