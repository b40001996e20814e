"""Trello: a card per report on the configured list, the report's UUID in its text."""

from __future__ import annotations

import uuid

import httpx

from app.integrations.base import (
    CreatedIssue,
    PlatformError,
    Report,
    error_from_response,
    reference_label,
    report_text,
    send,
)

DESC_MAX = 16_384
NAME_MAX = 16_384


class Trello:
    def __init__(
        self,
        *,
        api_key: str,
        token: str,
        list_id: str,
        base_url: str,
        client: httpx.AsyncClient,
        timeout: float,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.list_id = list_id
        self.client = client
        self.timeout = timeout
        # The header keeps the token out of URLs (and so out of access logs).
        self.headers = {
            "Authorization": f'OAuth oauth_consumer_key="{api_key}", oauth_token="{token}"',
            "Accept": "application/json",
        }

    async def _call(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        return await send(
            self.client,
            "Trello",
            method,
            f"{self.base}{path}",
            timeout=self.timeout,
            headers=self.headers,
            **kwargs,
        )

    async def check(self) -> None:
        me = await self._call("GET", "/1/members/me", params={"fields": "id,username"})
        if me.status_code != 200:
            raise error_from_response("Trello", me, "to the credentials check")
        board_list = await self._call(
            "GET", f"/1/lists/{self.list_id}", params={"fields": "id,name,idBoard,closed"}
        )
        if board_list.status_code != 200:
            raise error_from_response("Trello", board_list, f"for list {self.list_id}")
        if board_list.json().get("closed"):
            raise PlatformError(f"the Trello list {self.list_id} is archived", retryable=False)

    async def find(self, report_uuid: uuid.UUID) -> CreatedIssue | None:
        response = await self._call(
            "GET",
            "/1/search",
            params={
                "query": reference_label(report_uuid),
                "modelTypes": "cards",
                "card_fields": "id,shortUrl,desc,idList",
            },
        )
        if response.status_code != 200:
            raise error_from_response("Trello", response, "to the search")
        for card in response.json().get("cards") or []:
            if reference_label(report_uuid) in (card.get("desc") or ""):
                return CreatedIssue(external_id=str(card["id"]), url=str(card["shortUrl"]))
        return None

    async def create(self, report: Report) -> CreatedIssue:
        marker = f"\n\n{reference_label(report.uuid)}"
        text = report_text(report)[: DESC_MAX - len(marker)] + marker
        response = await self._call(
            "POST",
            "/1/cards",
            params={"idList": self.list_id},
            json={"name": report.title[:NAME_MAX], "desc": text, "pos": "bottom"},
        )
        if response.status_code != 200:
            raise error_from_response("Trello", response, "to the new card")
        try:
            card = response.json()
            return CreatedIssue(external_id=str(card["id"]), url=str(card["shortUrl"]))
        except (ValueError, KeyError):
            raise PlatformError("Trello's answer named no card", retryable=True) from None
