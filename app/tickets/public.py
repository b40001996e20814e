"""Public routes: a board's form and the status link. No account needed."""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response, status

from app.core.deps import SessionDep, client_ip, direct_of, get_settings_dep
from app.core.errors import (
    BoardUnavailable,
    ErrorResponse,
    ValidationErrorResponse,
    error_responses,
)
from app.core.responses import model_response
from app.core.routes import LeanRoute
from app.tickets import service
from app.tickets.notifications import status_url
from app.tickets.schemas import PublicBoard, PublicSubmission, PublicTicket, SubmissionAccepted
from app.tickets.submission import submit_public

NOT_FOUND = error_responses(404, 422)
# What a board's public id can look like (token_urlsafe); anything else is not a board.
_PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


def _checked(public_id: str) -> str:
    """The path's public id; one no board could have (a NUL, a megabyte) is unknown: 404."""
    if not _PUBLIC_ID.fullmatch(public_id):
        raise BoardUnavailable()
    return public_id


async def _public_id(public_id: str) -> str:
    return _checked(public_id)


PublicId = Annotated[str, Depends(_public_id)]


async def read_public_ticket(report_uuid: str, request: Request) -> Response:
    return model_response(await service.public_view(await direct_of(request), report_uuid))


async def read_public_board(public_id: PublicId, session: SessionDep) -> PublicBoard:
    board = await service.public_board(session, public_id)
    return PublicBoard(name=board.name, description=board.description)


async def submit_ticket(
    public_id: str,
    body: PublicSubmission,
    request: Request,
    accept_language: Annotated[str | None, Header()] = None,
) -> Response:
    settings = await get_settings_dep(request)
    report_uuid = await submit_public(
        await direct_of(request),
        settings,
        public_id=_checked(public_id),
        data=body,
        client_ip=await client_ip(request),
        accept_language=accept_language,
    )
    accepted = SubmissionAccepted(uuid=report_uuid, status_url=status_url(settings, report_uuid))
    return model_response(accepted, status.HTTP_201_CREATED)


def add_routes(router: APIRouter, prefix: str) -> None:
    """The public routes, added to `router` under `prefix`. The app adds them to its
    own router, ahead of the included routers (main.py): a request for them is
    matched there by one pattern each, not walked twice through an included router
    (the form's report cost 7 % less CPU so, docs/performance.md). The status link
    comes first, the most requested route of all; it and the form's submit are
    answered without dependencies to solve (app/core/routes.py)."""
    tags: list[str | Enum] = ["public"]
    router.add_api_route(
        f"{prefix}/public/tickets/{{report_uuid}}",
        read_public_ticket,
        methods=["GET"],
        response_model=PublicTicket,
        responses=NOT_FOUND,
        summary="What the status link shows",
        tags=tags,
        route_class_override=LeanRoute,
    )
    router.add_api_route(
        f"{prefix}/public/boards/{{public_id}}",
        read_public_board,
        methods=["GET"],
        response_model=PublicBoard,
        responses=NOT_FOUND,
        summary="A board's name and description for its public form",
        tags=tags,
    )
    router.add_api_route(
        f"{prefix}/public/boards/{{public_id}}/tickets",
        submit_ticket,
        methods=["POST"],
        status_code=status.HTTP_201_CREATED,
        response_model=SubmissionAccepted,
        responses={
            404: {"model": ErrorResponse},
            422: {
                "model": ValidationErrorResponse,
                "description": "A field is missing, too long or malformed",
            },
            429: {"model": ErrorResponse, "description": "Too many reports from this address"},
        },
        summary="Report a problem; answers the secret status link",
        tags=tags,
        route_class_override=LeanRoute,
    )
