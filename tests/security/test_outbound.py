"""Addresses managers type are checked after DNS where the connection is made: the
test buttons and the forwarder cannot be pointed at the server's own network."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import outbound
from app.core.config import Settings
from app.core.outbound import BlockedTarget, CheckedTransport, is_blocked, resolve_public
from app.integrations.models import ExternalTicket
from app.outbox.smtp import SmtpError, check_server, send_message
from app.outbox.smtp import SmtpServer as SmtpTarget
from app.standby.models import StandbyQueueItem
from tests.auth.helpers import signed_in
from tests.fakes.jira import FakeJira
from tests.fakes.trello import FakeTrello
from tests.integrations.conftest import Stack, jira_settings, trello_settings
from tests.smtp import SmtpServer

REFUSED = "loopback, private, link-local or cloud-metadata address"
# Names that resolve where the test needs them to, through the resolver under test.
FAKE_DNS = {
    "jira.corp.example": ["10.1.2.3"],
    "rebind.example": ["127.0.0.1"],
    "mixed.example": ["93.184.215.14", "192.168.0.7"],
    "jira.pinned.example": ["127.0.0.1"],
    "smtp.pinned.example": ["127.0.0.1"],
}


@pytest.fixture
def private_targets(request: pytest.FixtureRequest) -> bool:
    return bool(getattr(request, "param", False))


@pytest.fixture
def app_env(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "development"))


@pytest.fixture
def settings(settings: Settings, private_targets: bool, app_env: str) -> Settings:
    """The session's settings with private targets refused (unless a test says so)."""
    return settings.model_copy(
        update={"ALLOW_PRIVATE_NETWORK_TARGETS": private_targets, "APP_ENV": app_env}
    )


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    real = outbound.lookup

    async def lookup(host: str, port: int) -> list[outbound.IPAddress]:
        if host in FAKE_DNS:
            return [ipaddress.ip_address(a) for a in FAKE_DNS[host]]
        return await real(host, port)

    monkeypatch.setattr(outbound, "lookup", lookup)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A real listening socket on loopback: the thing that must never be reached."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    yield sock
    sock.close()


def accepted_nothing(listener: socket.socket) -> bool:
    try:
        connection, _ = listener.accept()
    except BlockingIOError:
        return True
    connection.close()
    return False


def port_of(listener: socket.socket) -> int:
    return int(listener.getsockname()[1])


# --- the check itself ---------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "100.64.0.1",  # shared address space (carrier-grade NAT)
        "169.254.169.254",  # cloud metadata
        "169.254.1.1",
        "0.0.0.0",
        "224.0.0.251",
        "255.255.255.255",
        "240.0.0.1",
        "192.0.2.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",  # AWS metadata over IPv6
        "fec0::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:10.0.0.1",
        "::127.0.0.1",
        "2002:7f00:1::1",  # 6to4 around 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 around 169.254.169.254
    ],
)
def test_private_addresses_are_blocked(address: str) -> None:
    assert is_blocked(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.215.14"]
)
def test_public_addresses_pass(address: str) -> None:
    assert not is_blocked(ipaddress.ip_address(address))


async def test_a_name_is_judged_by_what_it_resolves_to() -> None:
    for name in ("localhost", "jira.corp.example", "mixed.example", "[::ffff:127.0.0.1]"):
        with pytest.raises(BlockedTarget, match=REFUSED):
            await resolve_public(name, 443, allow_private=False)
    allowed = await resolve_public("jira.corp.example", 443, allow_private=True)
    assert allowed == [ipaddress.ip_address("10.1.2.3")]
    assert await resolve_public("93.184.215.14", 443, allow_private=False) == [
        ipaddress.ip_address("93.184.215.14")
    ]


async def test_the_http_transport_never_connects_to_a_private_address(
    listener: socket.socket,
) -> None:
    port = port_of(listener)
    async with httpx.AsyncClient(transport=CheckedTransport(allow_private=False)) as client:
        for url in (
            f"http://127.0.0.1:{port}/",
            f"http://localhost:{port}/",
            f"http://rebind.example:{port}/",
            f"http://[::ffff:127.0.0.1]:{port}/",
        ):
            with pytest.raises(BlockedTarget, match=REFUSED):
                await client.get(url)
    assert accepted_nothing(listener)


async def test_the_http_transport_connects_to_the_checked_address_and_keeps_the_name(
    jira: FakeJira,
) -> None:
    """The connection goes to the address that was checked, not to a fresh lookup of
    the name (there is no DNS for jira.pinned.example), and Host still names the site."""
    port = httpx.URL(jira.url).port
    async with httpx.AsyncClient(transport=CheckedTransport(allow_private=True)) as client:
        response = await client.get(f"http://jira.pinned.example:{port}/rest/api/3/myself")
    assert response.status_code == 401  # the fake answered: no credentials were sent
    assert jira.requests[-1].headers["host"] == f"jira.pinned.example:{port}"


# --- the Jira and Trello test button, and the forwarder -----------------------------


@pytest.mark.parametrize(
    "site",
    [
        "http://127.0.0.1:{port}",
        "http://localhost:{port}",
        "http://[::ffff:127.0.0.1]:{port}",
        "http://169.254.169.254",
        "http://[fd00:ec2::254]",
        "http://jira.corp.example:{port}",  # a name that resolves to 10.1.2.3
        "http://rebind.example:{port}",  # a name that resolves to loopback
    ],
)
async def test_the_jira_test_button_refuses_private_sites(
    stack: Stack, jira: FakeJira, listener: socket.socket, site: str
) -> None:
    url = site.format(port=port_of(listener))
    board = await stack.board("Internal", jira_settings(jira, site_url=url))
    check = await stack.client.post(
        f"/api/v1/boards/{board['id']}/integration/test", headers=stack.auth
    )
    assert check.status_code == 200
    result = check.json()
    assert result["ok"] is False
    assert REFUSED in result["error"] and result["error"].startswith("Jira: ")
    assert accepted_nothing(listener)


async def test_trello_is_held_to_the_same_rule(stack: Stack, trello: FakeTrello) -> None:
    """TRELLO_API_BASE_URL is set by the operator, but checked all the same (here the
    stack points it at the loopback fake)."""
    board = await stack.board("Cards", trello_settings(trello))
    check = await stack.client.post(
        f"/api/v1/boards/{board['id']}/integration/test", headers=stack.auth
    )
    assert check.json()["ok"] is False and REFUSED in check.json()["error"]
    assert trello.requests == []


async def test_the_forwarder_parks_a_report_for_a_private_site_in_standby(
    stack: Stack, jira: FakeJira, listener: socket.socket
) -> None:
    site = f"http://127.0.0.1:{port_of(listener)}"
    board = await stack.board("Internal", jira_settings(jira, site_url=site))
    report_uuid = await stack.report(board)
    await stack.forward_all()
    assert (await stack.status(report_uuid))["status"] == "failed"
    async with stack.sessions() as session:
        external = await session.scalar(select(ExternalTicket))
        item = await session.scalar(select(StandbyQueueItem))
    assert external is not None and external.attempts == 1  # not retried: it cannot help
    assert external.last_error and REFUSED in external.last_error
    assert item is not None and item.kind == "failed_external" and item.status == "pending"
    assert accepted_nothing(listener)


@pytest.mark.parametrize("private_targets", [True], indirect=True)
async def test_with_private_targets_allowed_the_loopback_fakes_work(
    stack: Stack, jira: FakeJira, trello: FakeTrello
) -> None:
    port = httpx.URL(jira.url).port
    for settings in (
        jira_settings(jira),
        jira_settings(jira, site_url=f"http://jira.pinned.example:{port}"),
        trello_settings(trello),
    ):
        board = await stack.board(f"Board {len(jira.requests)}", settings)
        check = await stack.client.post(
            f"/api/v1/boards/{board['id']}/integration/test", headers=stack.auth
        )
        assert check.json() == {"ok": True, "error": None}
    board = await stack.board("Forwarded", jira_settings(jira))
    report_uuid = await stack.report(board)
    await stack.forward_all()
    assert (await stack.status(report_uuid))["status"] == "created"


@pytest.mark.parametrize(("private_targets", "app_env"), [(True, "production")], indirect=True)
async def test_jira_over_plain_http_is_refused_in_production(stack: Stack, jira: FakeJira) -> None:
    board = await stack.board("Plain", jira_settings(jira))
    check = await stack.client.post(
        f"/api/v1/boards/{board['id']}/integration/test", headers=stack.auth
    )
    assert check.json() == {
        "ok": False,
        "error": f"The Jira site must be an https:// address, not {jira.url}.",
    }
    assert jira.requests == []  # the token never went over plain HTTP


# --- the inbox test button, IMAP and SMTP -------------------------------------------


def inbox_body(imap_host: str, smtp_host: str, port: int) -> dict[str, Any]:
    return {
        "name": "Internal",
        "email_address": "help@example.com",
        "imap_host": imap_host,
        "imap_port": port,
        "imap_security": "none",
        "imap_username": "help",
        "imap_password": "imap-pass-123",
        "smtp_host": smtp_host,
        "smtp_port": port,
        "smtp_security": "none",
    }


@pytest.mark.parametrize(
    ("imap_host", "smtp_host"),
    [("127.0.0.1", "localhost"), ("rebind.example", "::ffff:127.0.0.1")],
)
async def test_the_inbox_test_button_refuses_private_hosts(
    client: httpx.AsyncClient,
    db: AsyncSession,
    listener: socket.socket,
    imap_host: str,
    smtp_host: str,
) -> None:
    auth = await signed_in(client, db)
    body = inbox_body(imap_host, smtp_host, port_of(listener))
    created = await client.post("/api/v1/inboxes", json=body, headers=auth)
    assert created.status_code == 201, created.text
    result = (
        await client.post(f"/api/v1/inboxes/{created.json()['id']}/test", headers=auth)
    ).json()
    assert result["imap"]["ok"] is False and result["imap"]["error"].startswith(imap_host)
    assert REFUSED in result["imap"]["error"]
    assert result["smtp"]["ok"] is False and REFUSED in result["smtp"]["error"]
    assert accepted_nothing(listener)


async def test_smtp_sends_nothing_to_a_private_host(
    smtp_server: SmtpServer, listener: socket.socket
) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "x"
    message.set_content("hello")
    for server in (
        SmtpTarget("127.0.0.1", port_of(listener), "none", allow_private=False),
        SmtpTarget("smtp.pinned.example", smtp_server.port, "none", allow_private=False),
    ):
        with pytest.raises(SmtpError, match=REFUSED) as refused:
            await send_message(server, message)
        assert refused.value.retryable is False
    assert accepted_nothing(listener) and smtp_server.mailbox.messages == []
    # Allowed (the operator's own SMTP_HOST), a pinned name reaches the real server.
    pinned = SmtpTarget("smtp.pinned.example", smtp_server.port, "none", allow_private=True)
    await check_server(pinned)
    await send_message(pinned, message)
    assert len(smtp_server.mailbox.wait_for("b@example.com")) == 1
