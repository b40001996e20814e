"""A local Trello REST API that checks what the real one checks."""

from __future__ import annotations

import re
import secrets
from typing import Any

from tests.fakes.server import Answer, FakeServer, Request

LIST_ID = "5f1e2d3c4b5a697887766554"


class FakeTrello(FakeServer):
    def __init__(self, key: str = "trello-key", token: str = "trello-token") -> None:
        super().__init__()
        self.key, self.token = key, token
        self.lists = {LIST_ID}
        self.cards: list[dict[str, Any]] = []

    def _auth_problem(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        key = re.search(r'oauth_consumer_key="([^"]*)"', header)
        token = re.search(r'oauth_token="([^"]*)"', header)
        given_key = key.group(1) if key else request.query.get("key")
        given_token = token.group(1) if token else request.query.get("token")
        if given_key != self.key:
            return "invalid key"
        if given_token != self.token:
            return "invalid token"
        return None

    def is_create(self, request: Request) -> bool:
        return request.method == "POST" and request.path == "/1/cards"

    def failure(self, status: int, request: Request) -> Answer:
        if status == 429:  # no Retry-After: Trello never sends one
            return Answer(
                429, {"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}
            )
        if status == 401:
            return Answer(401, "invalid token")
        if status == 404:
            return Answer(404, "The requested resource was not found.")
        return Answer(status, "Internal Server Error")

    def handle(self, request: Request) -> Answer:
        if (problem := self._auth_problem(request)) is not None:
            return Answer(401, problem)
        if request.method == "GET" and request.path == "/1/members/me":
            return Answer(200, {"id": "5a1b2c3d4e5f60718293a4b5", "username": "helpdesk"})
        if match := re.fullmatch(r"/1/lists/([^/]+)", request.path):
            list_id = match.group(1)
            if not re.fullmatch(r"[0-9a-f]{24}", list_id):
                return Answer(400, "invalid id")
            if list_id not in self.lists:
                return Answer(404, "The requested resource was not found.")
            return Answer(
                200, {"id": list_id, "name": "Inbox", "idBoard": "b" * 24, "closed": False}
            )
        if request.method == "GET" and request.path == "/1/search":
            query = request.query.get("query", "")
            found = [c for c in self.cards if query in c["desc"] or query in c["name"]]
            return Answer(200, {"cards": found, "boards": [], "members": []})
        if self.is_create(request):
            return self._create(request)
        return Answer(404, "The requested resource was not found.")

    def _create(self, request: Request) -> Answer:
        fields: dict[str, Any] = {**request.query, **(request.body or {})}
        if fields.get("idList") not in self.lists:
            return Answer(400, "invalid value for idList")
        desc = str(fields.get("desc") or "")
        if len(desc) > 16384:
            return Answer(400, "invalid value for desc")
        short = secrets.token_hex(4)
        card = {
            "id": secrets.token_hex(12),
            "idList": fields["idList"],
            "idBoard": "b" * 24,
            "name": str(fields.get("name") or ""),
            "desc": desc,
            "shortLink": short,
            "shortUrl": f"https://trello.com/c/{short}",
            "url": f"https://trello.com/c/{short}/1-card",
        }
        self.cards.append(card)
        return Answer(200, card)
