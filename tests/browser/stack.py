"""A real `python -m app serve` on a fresh PostgreSQL database, sending its mail to
a real SMTP server: what the browser tests and the screenshots run against."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import free_port
from tests.database import DatabaseServer
from tests.processes import PROJECT_ROOT, Server, cli_env, run_cli, serve
from tests.smtp import SmtpServer, running_smtp_server
from tests.workers.helpers import query

PASSWORD = "long enough secret"


@dataclass
class Stack:
    server: Server
    smtp: SmtpServer
    env: dict[str, str]
    _managers: int = 0

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.base_url}/api/v1", timeout=30)

    def manager(self, *, language: str = "en") -> str:
        """A new verified manager, made with the CLI; returns the email address."""
        self._managers += 1
        email = f"manager{self._managers}-{secrets.token_hex(3)}@example.com"
        created = run_cli(
            "create-manager", "--email", email, "--password", PASSWORD, "--name", "Anna Nowak",
            "--verified", env=self.env,
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        if language != "en":
            with self.api() as api:
                token = api.post("/auth/login", json={"email": email, "password": PASSWORD})
                headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
                api.patch("/me", json={"language": language}, headers=headers).raise_for_status()
        return email

    def board(self, email: str, name: str, **fields: object) -> dict[str, object]:
        """A board of `email`'s, made through the API."""
        with self.api() as api:
            token = api.post("/auth/login", json={"email": email, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            created = api.post("/boards", json={"name": name, **fields}, headers=headers)
            created.raise_for_status()
            board: dict[str, object] = created.json()
            return board

    def inbox(self, email: str, name: str, **fields: object) -> int:
        """A password inbox of `email`'s, made through the API (switched off unless
        said: its made-up server is not there)."""
        body = {
            "name": name,
            "email_address": f"{name.lower()}@example.com",
            "imap_host": "imap.example.com",
            "imap_username": f"{name.lower()}@example.com",
            "imap_password": "app-password",
            "is_active": False,
            **fields,
        }
        with self.api() as api:
            token = api.post("/auth/login", json={"email": email, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            created = api.post("/inboxes", json=body, headers=headers)
            created.raise_for_status()
            return int(created.json()["id"])

    def signed_out_inbox(self, email: str, name: str, *, status: str, problem: str) -> int:
        """An inbox of `email`'s that signed in with Google and whose sign-in now has
        `status`: written into the database, since no provider takes part here."""
        inbox_id = self.inbox(email, name, is_active=True, imap_password=None)
        query(
            self.env["DATABASE_URL"],
            "UPDATE email_inboxes SET auth_kind = 'oauth2', imap_password_encrypted = NULL, "
            "last_polled_at = now() - interval '2 hours', next_poll_at = now() + interval '1 day' "
            "WHERE id = :id",
            id=inbox_id,
        )
        query(
            self.env["DATABASE_URL"],
            "INSERT INTO inbox_oauth_grants (email_inbox_id, provider, scopes, "
            "refresh_token_encrypted, status, last_error, last_error_at) VALUES (:id, 'google', "
            "'https://mail.google.com/', 'x', :status, :problem, now())",
            id=inbox_id,
            status=status,
            problem=problem,
        )
        return inbox_id

    def report(self, public_id: object, title: str, **fields: object) -> str:
        """A report through the public form's API; returns its status-link UUID."""
        body = {"description": "It does not work.", "email": "reporter@example.com", **fields}
        with self.api() as api:
            answer = api.post(f"/public/boards/{public_id}/tickets", json={"title": title, **body})
            answer.raise_for_status()
            return str(answer.json()["uuid"])


@contextmanager
def running_stack(db_server: DatabaseServer, data_dir: Path, **overrides: str) -> Iterator[Stack]:
    """`python -m app serve` on a fresh database, its mail going to a real SMTP server;
    `overrides` are more settings (the OAuth2 providers' stand-in)."""
    assert (PROJECT_ROOT / "frontend" / "dist" / "index.html").exists(), (
        "the SPA is not built: `make test` builds it before running the tests"
    )
    port = free_port()
    with running_smtp_server(free_port()) as smtp, db_server.fresh("browser") as url:
        env = cli_env(
            DATABASE_URL=url,
            DATA_DIR=str(data_dir),
            SECRET_KEY=secrets.token_urlsafe(48),
            ENCRYPTION_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
            SMTP_HOST=smtp.host,
            SMTP_PORT=str(smtp.port),
            SMTP_SECURITY="none",
            SMTP_FROM="Tracker <tracker@example.com>",
            # Links in mail lead back to this very server, as they would in production.
            PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
            PUBLIC_SUBMIT_RATE_LIMIT="100/minute",
            REGISTER_RATE_LIMIT="1000/hour",  # every journey signs up from this address
            **overrides,
        )
        with serve(port, env) as server:
            server.wait_until_ready()
            yield Stack(server, smtp, env)
