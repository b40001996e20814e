"""Routes: /inboxes (CRUD), a connection test, and polling on demand."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response, status
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from app.auth.deps import CurrentManager
from app.core.deps import Cursor, Limit, SessionDep, SessionmakerDep, SettingsDep
from app.core.errors import ERROR_RESPONSES, Accepted, error_responses
from app.core.ids import ObjectId
from app.core.pagination import DEFAULT_LIMIT, Page
from app.inboxes import connect, grants, oauth, service
from app.inboxes.schemas import (
    InboxCreate,
    InboxRead,
    InboxTestResult,
    InboxUpdate,
    OAuthConnect,
    OAuthReconnect,
    OAuthStart,
    inbox_read,
)

router = APIRouter(prefix="/inboxes", tags=["inboxes"], responses=ERROR_RESPONSES)
CONFLICT = error_responses(409)


@router.get("", response_model=Page[InboxRead], summary="Your inboxes, newest first")
async def list_inboxes(
    manager: CurrentManager,
    session: SessionDep,
    settings: SettingsDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[InboxRead]:
    inboxes, next_cursor = await service.list_inboxes(session, manager, limit=limit, cursor=cursor)
    return Page(items=[inbox_read(i, settings) for i in inboxes], next_cursor=next_cursor)


class OAuthProviderRead(BaseModel):
    name: str
    label: str


@router.get(
    "/oauth2/providers",
    response_model=list[OAuthProviderRead],
    summary="The providers an inbox can sign in with on this server",
)
async def oauth_providers(_: CurrentManager, settings: SettingsDep) -> list[OAuthProviderRead]:
    return [
        OAuthProviderRead(name=p.name, label=p.label) for p in oauth.providers(settings).values()
    ]


@router.post(
    "/oauth2/authorize",
    response_model=OAuthStart,
    responses=CONFLICT,
    summary="Connect a Google or Microsoft 365 mailbox: where to send the browser to sign in",
)
async def authorize_new_inbox(
    body: OAuthConnect,
    manager: CurrentManager,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> OAuthStart:
    started, cookie = await connect.start_new(session, settings, manager, body)
    _set_browser_cookie(response, settings, cookie)
    return started


def _set_browser_cookie(
    response: Response, settings: SettingsDep, cookie: connect.BrowserCookie
) -> None:
    """Ties the sign-in to this browser: sent only to the callback, which a provider's
    redirect (a top-level navigation from another site) reaches with SameSite=Lax."""
    response.set_cookie(
        cookie.name,
        cookie.value,
        max_age=int(connect.REQUEST_LIFETIME.total_seconds()),
        path=connect.COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=settings.is_production,
    )


@router.get(
    "/oauth2/callback",
    status_code=status.HTTP_303_SEE_OTHER,
    response_class=RedirectResponse,
    summary="Where the provider sends the browser back; redirects into the app",
    responses={303: {"description": "To /inboxes/{id}?oauth2=connected, or ?oauth2=failed"}},
)
async def oauth_callback(
    request: Request,
    sessionmaker: SessionmakerDep,
    settings: SettingsDep,
    state: Annotated[str | None, Query(max_length=200)] = None,
    code: Annotated[str | None, Query(max_length=4000)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
    error_description: Annotated[str | None, Query(max_length=2000)] = None,
    admin_consent: Annotated[str | None, Query(max_length=10)] = None,
) -> RedirectResponse:
    params = {
        name: value
        for name, value in (
            ("state", state),
            ("code", code),
            ("error", error),
            ("error_description", error_description),
            ("admin_consent", admin_consent),
        )
        if value
    }
    target = await connect.finish(sessionmaker, settings, params, dict(request.cookies))
    answer = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    if state:
        answer.delete_cookie(connect.cookie_of_state(state), path=connect.COOKIE_PATH)
    return answer


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=InboxRead,
    responses=CONFLICT,
    summary="Connect a mailbox (it is polled at once)",
)
async def create_inbox(
    body: InboxCreate, manager: CurrentManager, session: SessionDep, settings: SettingsDep
) -> InboxRead:
    return inbox_read(await service.create_inbox(session, settings, manager, body), settings)


@router.get("/{inbox_id}", response_model=InboxRead, summary="One of your inboxes")
async def read_inbox(
    inbox_id: ObjectId, manager: CurrentManager, session: SessionDep, settings: SettingsDep
) -> InboxRead:
    return inbox_read(await service.get_inbox(session, manager, inbox_id), settings)


@router.post(
    "/{inbox_id}/oauth2/authorize",
    response_model=OAuthStart,
    responses=CONFLICT,
    summary="Sign the inbox in again (or switch it to Google / Microsoft 365 sign-in)",
)
async def authorize_inbox(
    inbox_id: ObjectId,
    manager: CurrentManager,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    body: Annotated[OAuthReconnect | None, Body()] = None,
) -> OAuthStart:
    started, cookie = await connect.start_reconnect(
        session, settings, manager, inbox_id, body or OAuthReconnect()
    )
    _set_browser_cookie(response, settings, cookie)
    return started


@router.patch("/{inbox_id}", response_model=InboxRead, responses=CONFLICT, summary="Change it")
async def update_inbox(
    inbox_id: ObjectId,
    body: InboxUpdate,
    manager: CurrentManager,
    session: SessionDep,
    settings: SettingsDep,
) -> InboxRead:
    return inbox_read(
        await service.update_inbox(session, settings, manager, inbox_id, body), settings
    )


@router.delete(
    "/{inbox_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Disconnect it: boards are unlinked, tickets and standby items stay",
)
async def delete_inbox(
    inbox_id: ObjectId, manager: CurrentManager, session: SessionDep
) -> Response:
    await service.delete_inbox(session, manager, inbox_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{inbox_id}/test",
    response_model=InboxTestResult,
    summary="Log in to its IMAP and SMTP servers now and say what went wrong",
)
async def test_inbox(
    inbox_id: ObjectId,
    manager: CurrentManager,
    session: SessionDep,
    sessionmaker: SessionmakerDep,
    settings: SettingsDep,
) -> InboxTestResult:
    return await service.check_inbox(
        session, sessionmaker, settings, manager, inbox_id, owner=grants.process_owner("api")
    )


@router.post(
    "/{inbox_id}/poll",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    summary="Read the mailbox now rather than at the next interval",
)
async def poll_inbox(inbox_id: ObjectId, manager: CurrentManager, session: SessionDep) -> Accepted:
    await service.request_poll(session, manager, inbox_id)
    return Accepted(detail="The inbox will be read within seconds.")
