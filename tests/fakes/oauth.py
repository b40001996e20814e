"""A local OAuth2 provider, Google and Microsoft 365 style, with token introspection for
Dovecot: authorization code + PKCE, rotating refresh tokens with reuse detection."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

from tests.fakes.server import Answer, FakeServer, Request

GOOGLE_REVOKED = "Token has been expired or revoked."
MICROSOFT_REVOKED = (
    "AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token"
    " is needed. The user might have changed or reset their password."
)
CONSENT_MISSING = (
    "AADSTS65001: The user or administrator has not consented to use the application with ID"
    " '{client_id}' named 'Simple Issue Tracker'. Send an interactive authorization request"
    " for this user and resource."
)
MICROSOFT_PATH = re.compile(
    r"/microsoft/([^/]+)/(oauth2/v2\.0/authorize|oauth2/v2\.0/token|v2\.0/adminconsent)"
)


@dataclass
class Account:
    """A user who can sign in; `mailbox` is the IMAP/SMTP login its tokens open."""

    email: str
    mailbox: str
    consent_required: bool = False


@dataclass
class Grant:
    """What one authorization code became: its current refresh token and its history."""

    account: Account
    provider: str  # "google" | "microsoft"
    scope: str
    refresh_token: str | None = None
    old_refresh_tokens: set[str] = field(default_factory=set)
    revoked: bool = False
    in_flight: int = 0


@dataclass
class AccessToken:
    grant: Grant
    expires_at: float


@dataclass
class Code:
    account: Account
    provider: str
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str
    offline: bool
    used: bool = False


def _form(request: Request) -> dict[str, str] | None:
    """The form-encoded body (FakeServer hands it over as text); None if not a form."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return None
    body = request.body if isinstance(request.body, str) else ""
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


def pkce_challenge(verifier: str) -> str:
    """base64url(sha256(verifier)) without padding: the S256 code challenge."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class FakeOAuthProvider(FakeServer):
    """Google (`/google/...`) and Microsoft (`/microsoft/{tenant}/...`) sign-in, one server.

    The token endpoint checks the client, the single-use code, its redirect URI and PKCE.
    Like the real ones, a refresh token comes only with `access_type=offline` (Google) or
    the `offline_access` scope (Microsoft). Each refresh rotates it (unless
    `rotate_refresh_tokens` is False, as Google really does), and presenting a rotated-away
    one revokes the whole grant. `POST /introspect` answers Dovecot (RFC 7662 style).
    """

    def __init__(self, client_id: str = "sit-client", client_secret: str = "sit-secret") -> None:
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.redirect_uris: set[str] | None = None  # None: any http(s) URL is registered
        self.expires_in = 3600
        self.refresh_delay = 0.0
        self.rotate_refresh_tokens = True
        self.accounts: dict[str, Account] = {}
        self.authorize_requests: list[dict[str, str]] = []
        self.refreshes = 0
        self.max_concurrent_refreshes = 0
        self._signed_in: Account | None = None
        self._denials: list[tuple[str, str]] = []
        self._codes: dict[str, Code] = {}
        self._grants: list[Grant] = []
        self._grants_by_refresh: dict[str, Grant] = {}
        self._access: dict[str, AccessToken] = {}
        self._state = threading.Lock()

    # --- what tests arrange ------------------------------------------------------------

    def add_account(self, email: str, *, mailbox: str | None = None) -> Account:
        """A user who can sign in, and who signs in next (see `sign_in_as`)."""
        with self._state:
            account = Account(email, mailbox or email)
            self.accounts[email] = account
            self._signed_in = account
            return account

    def sign_in_as(self, email: str) -> None:
        """The account the next authorizations approve as."""
        with self._state:
            self._signed_in = self.accounts[email]

    def deny_next(self, error: str, description: str) -> None:
        """The next authorization redirects back with this error instead of a code."""
        with self._state:
            self._denials.append((error, description))

    def revoke(self, email: str) -> None:
        """Every grant and access token of the account stops working."""
        with self._state:
            for grant in self._grants:
                if grant.account.email == email:
                    grant.revoked = True

    def require_consent(self, email: str, required: bool = True) -> None:
        """Microsoft refreshes and authorizations of the account fail for want of consent."""
        with self._state:
            self.accounts[email].consent_required = required

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is expired from now on."""
        with self._state:
            now = time.monotonic()
            for token in self._access.values():
                token.expires_at = min(token.expires_at, now)

    def valid_mailbox(self, token: str) -> str | None:
        """The mailbox a valid (live, unexpired) access token opens, else None."""
        with self._state:
            found = self._access.get(token)
            if found is None or found.grant.revoked or found.expires_at <= time.monotonic():
                return None
            return found.grant.account.mailbox

    def grants(self, email: str) -> list[Grant]:
        """The account's grants (revoked ones too), oldest first."""
        with self._state:
            return [grant for grant in self._grants if grant.account.email == email]

    @property
    def introspection_url(self) -> str:
        return f"{self.url}/introspect"

    def authorize_url(self, provider: str = "google", tenant: str = "common") -> str:
        if provider == "google":
            return f"{self.url}/google/authorize"
        return f"{self.url}/microsoft/{tenant}/oauth2/v2.0/authorize"

    def token_url(self, provider: str = "google", tenant: str = "common") -> str:
        if provider == "google":
            return f"{self.url}/google/token"
        return f"{self.url}/microsoft/{tenant}/oauth2/v2.0/token"

    # --- FakeServer --------------------------------------------------------------------

    def answer(self, request: Request, mode: str | None) -> Answer | None:
        # "html": a 200 page where a token should be (a captive portal, a proxy).
        if mode == "html":
            return Answer(200, "<html><body>Please sign in to the network</body></html>")
        return super().answer(request, mode)

    def app_settings(self) -> dict[str, str]:
        """The app's settings that register it with both providers, here."""
        return {
            "GOOGLE_OAUTH_CLIENT_ID": self.client_id,
            "GOOGLE_OAUTH_CLIENT_SECRET": self.client_secret,
            "GOOGLE_OAUTH_AUTHORIZE_URL": self.authorize_url("google"),
            "GOOGLE_OAUTH_TOKEN_URL": self.token_url("google"),
            "MICROSOFT_OAUTH_CLIENT_ID": self.client_id,
            "MICROSOFT_OAUTH_CLIENT_SECRET": self.client_secret,
            "MICROSOFT_OAUTH_AUTHORITY": f"{self.url}/microsoft",
        }

    def is_create(self, request: Request) -> bool:
        return request.method == "POST" and request.path.endswith("token")

    def failure(self, status: int, request: Request) -> Answer:
        if status == 429:
            return Answer(429, {"error": "temporarily_unavailable"}, {"Retry-After": "1"})
        if status == 401:
            return Answer(401, {"error": "invalid_client"})
        if status == 404:
            return Answer(404, "Not Found")
        return Answer(status, {"error": "server_error"})

    def handle(self, request: Request) -> Answer:
        path = request.path
        if path == "/introspect" and request.method == "POST":
            return self._introspect(request)
        if path == "/google/authorize" and request.method == "GET":
            return self._authorize(request, "google")
        if path == "/google/token" and request.method == "POST":
            return self._token(request, "google")
        if match := MICROSOFT_PATH.fullmatch(path):
            endpoint = match.group(2)
            if endpoint.endswith("authorize") and request.method == "GET":
                return self._authorize(request, "microsoft")
            if endpoint.endswith("token") and request.method == "POST":
                return self._token(request, "microsoft")
            if endpoint.endswith("adminconsent") and request.method == "GET":
                return Answer(200, "Admin consent granted.")
        return Answer(404, "Not Found")

    # --- endpoints ---------------------------------------------------------------------

    def _authorize(self, request: Request, provider: str) -> Answer:
        query = dict(request.query)
        with self._state:
            self.authorize_requests.append(query)
            if query.get("client_id") != self.client_id:
                return Answer(400, "Error 400: invalid_client. The OAuth client was not found.")
            redirect_uri = query.get("redirect_uri", "")
            registered = (
                redirect_uri in self.redirect_uris
                if self.redirect_uris is not None
                else urlsplit(redirect_uri).scheme in ("http", "https")
            )
            if not registered:
                return Answer(400, "Error 400: redirect_uri_mismatch")
            state = query.get("state")
            denial = self._denials.pop(0) if self._denials else None
            account = self._signed_in
            problem: tuple[str, str] | None = None
            if query.get("response_type") != "code":
                problem = ("unsupported_response_type", "response_type must be code")
            elif not state:
                problem = ("invalid_request", "state is required")
            elif not query.get("code_challenge"):
                problem = ("invalid_request", "code_challenge is required (PKCE)")
            elif query.get("code_challenge_method") != "S256":
                problem = ("invalid_request", "code_challenge_method must be S256")
            elif denial is not None:
                problem = denial
            elif account is None:
                problem = ("access_denied", "no account can sign in")
            elif provider == "microsoft" and account.consent_required:
                problem = (
                    "consent_required",
                    CONSENT_MISSING.format(client_id=self.client_id),
                )
            if problem is not None:
                params = {"error": problem[0], "error_description": problem[1]}
            else:
                assert account is not None
                code = secrets.token_urlsafe(24)
                scope = query.get("scope", "")
                offline = (
                    query.get("access_type") == "offline"
                    if provider == "google"
                    else "offline_access" in scope.split()
                )
                self._codes[code] = Code(
                    account,
                    provider,
                    self.client_id,
                    redirect_uri,
                    query["code_challenge"],
                    scope,
                    offline,
                )
                params = {"code": code}
        if state:
            params["state"] = state
        separator = "&" if "?" in redirect_uri else "?"
        return Answer(302, "", {"Location": f"{redirect_uri}{separator}{urlencode(params)}"})

    def _client_problem(self, request: Request, form: dict[str, str]) -> Answer | None:
        header = request.headers.get("authorization", "")
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:]).decode()
                given_id, _, given_secret = decoded.partition(":")
            except (ValueError, UnicodeDecodeError):
                return Answer(401, {"error": "invalid_client"})
            client_id, client_secret = unquote_plus(given_id), unquote_plus(given_secret)
        if client_id != self.client_id or client_secret != self.client_secret:
            return Answer(401, {"error": "invalid_client", "error_description": "Unauthorized"})
        return None

    def _invalid_grant(self, provider: str, google: str, microsoft: str) -> Answer:
        description = google if provider == "google" else microsoft
        return Answer(400, {"error": "invalid_grant", "error_description": description})

    def _token(self, request: Request, provider: str) -> Answer:
        form = _form(request)
        if form is None:
            return Answer(
                400,
                {
                    "error": "invalid_request",
                    "error_description": "The request body must be form-encoded "
                    "(application/x-www-form-urlencoded).",
                },
            )
        if (problem := self._client_problem(request, form)) is not None:
            return problem
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange(form, provider)
        if grant_type == "refresh_token":
            return self._refresh(form, provider)
        return Answer(400, {"error": "unsupported_grant_type"})

    def _exchange(self, form: dict[str, str], provider: str) -> Answer:
        with self._state:
            code = self._codes.get(form.get("code", ""))
            if code is None or code.provider != provider:
                return self._invalid_grant(
                    provider, "Malformed auth code.", "AADSTS9002313: Invalid request."
                )
            if code.used:
                return self._invalid_grant(
                    provider,
                    "Bad Request",
                    "AADSTS54005: OAuth2 Authorization code was already redeemed, please "
                    "retry with a new valid code or use an existing refresh token.",
                )
            code.used = True
            if form.get("redirect_uri") != code.redirect_uri:
                return self._invalid_grant(
                    provider,
                    "Bad Request",
                    "AADSTS50011: The redirect URI specified in the request does not match "
                    "the redirect URIs configured for the application.",
                )
            verifier = form.get("code_verifier")
            if not verifier or pkce_challenge(verifier) != code.challenge:
                return self._invalid_grant(
                    provider,
                    "Invalid code verifier." if verifier else "Missing code verifier.",
                    "AADSTS50148: The code_verifier does not match the code_challenge "
                    "supplied in the authorization request for PKCE.",
                )
            grant = Grant(code.account, provider, code.scope)
            self._grants.append(grant)
            return Answer(200, self._issue(grant, refresh=code.offline))

    def _refresh(self, form: dict[str, str], provider: str) -> Answer:
        presented = form.get("refresh_token", "")
        with self._state:
            self.refreshes += 1
            grant = self._grants_by_refresh.get(presented)
            if grant is not None:
                grant.in_flight += 1
                self.max_concurrent_refreshes = max(self.max_concurrent_refreshes, grant.in_flight)
        try:
            if self.refresh_delay:
                time.sleep(self.refresh_delay)
            with self._state:
                return self._refreshed(grant, presented, provider)
        finally:
            if grant is not None:
                with self._state:
                    grant.in_flight -= 1

    def _refreshed(self, grant: Grant | None, presented: str, provider: str) -> Answer:
        revoked = self._invalid_grant(provider, GOOGLE_REVOKED, MICROSOFT_REVOKED)
        if grant is None or grant.provider != provider or grant.revoked:
            return revoked
        if presented != grant.refresh_token:  # a rotated-away token: someone replayed it
            grant.revoked = True
            return revoked
        if provider == "microsoft" and grant.account.consent_required:
            return self._invalid_grant(
                provider, GOOGLE_REVOKED, CONSENT_MISSING.format(client_id=self.client_id)
            )
        return Answer(200, self._issue(grant, refresh=self.rotate_refresh_tokens))

    def _issue(self, grant: Grant, *, refresh: bool) -> dict[str, Any]:
        """New tokens for the grant (call with the lock held)."""
        google = grant.provider == "google"
        access = ("ya29." if google else "eyJ0eXAiOiJKV1Qi.") + secrets.token_urlsafe(32)
        self._access[access] = AccessToken(grant, time.monotonic() + self.expires_in)
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": grant.scope,
        }
        if not google:
            body["ext_expires_in"] = self.expires_in
        if refresh:
            if grant.refresh_token is not None:
                grant.old_refresh_tokens.add(grant.refresh_token)
            grant.refresh_token = ("1//" if google else "0.A") + secrets.token_urlsafe(48)
            self._grants_by_refresh[grant.refresh_token] = grant
            body["refresh_token"] = grant.refresh_token
        return body

    def _introspect(self, request: Request) -> Answer:
        form = _form(request) or {}
        mailbox = self.valid_mailbox(form.get("token", ""))
        if mailbox is None:
            return Answer(401, {"active": False})
        return Answer(200, {"active": True, "username": mailbox})
