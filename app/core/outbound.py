"""Outgoing connections to addresses people type: checked after DNS, then pinned.

A manager types a Jira site or an IMAP/SMTP host; a server that connects wherever
it is told can be made to probe its own network (SSRF): the database, a cloud's
metadata service at 169.254.169.254, an admin page on loopback. So every such
connection resolves the name first, refuses it when any address it resolves to
is not a public one (unless ALLOW_PRIVATE_NETWORK_TARGETS), and then connects to
the address it checked, never to the name again, so a DNS answer that changes
between the check and the connect (rebinding) cannot slip past. TLS still
verifies the certificate against the name, and HTTP still sends the name as Host.

- `resolve_public(host, port, allow_private=…)`: the checked addresses, or
  `BlockedTarget` carrying a sentence a person can act on.
- `connect_socket(…)`: a TCP socket connected to a checked address (IMAP, SMTP).
- `CheckedTransport(allow_private=…)`: an httpx transport whose every connection,
  redirects included, goes through the same check (Jira, Trello).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services: link-local or private anyway, named so a change in the
# stdlib's idea of "private" can never let them through.
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack …
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
        ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    }
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class BlockedTarget(Exception):
    """The address leads into a network this server must not reach; the message is a
    sentence for the person who typed it."""


def is_blocked(address: IPAddress) -> bool:
    """Not a public unicast address: loopback, private, shared (CGNAT), link-local,
    multicast, unspecified, reserved, documentation, metadata, or an IPv6 form of one
    (::ffff:a.b.c.d and NAT64's 64:ff9b::a.b.c.d are judged by the IPv4 inside; a
    6to4 address is refused when the IPv4 inside is)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_blocked(address.ipv4_mapped)
        if address in _NAT64:
            return is_blocked(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour is not None and is_blocked(address.sixtofour):
            return True
        if address.is_site_local:
            return True
    return (
        address in METADATA_ADDRESSES
        or not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
    )


def _unique(addresses: Iterable[IPAddress]) -> list[IPAddress]:
    return list(dict.fromkeys(addresses))


async def lookup(host: str, port: int) -> list[IPAddress]:
    """The addresses `host` resolves to (an address literal resolves to itself).
    Tests replace this to make a name resolve where they need it to."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return _unique(ipaddress.ip_address(info[4][0]) for info in infos)


def _refusal(host: str) -> BlockedTarget:
    return BlockedTarget(
        f"{host} leads to a loopback, private, link-local or cloud-metadata address, "
        "which this server does not connect to. Use the service's public address."
    )


async def resolve_public(host: str, port: int, *, allow_private: bool) -> list[IPAddress]:
    """The addresses to connect to for `host`, each checked: raises BlockedTarget if
    any of them is not public (unless `allow_private`), socket.gaierror if the name
    does not resolve. A name with one private answer among public ones is refused
    whole: which answer a connection would use is not ours to predict."""
    name = host.strip().removeprefix("[").removesuffix("]")
    if not name:
        raise socket.gaierror(socket.EAI_NONAME, "empty host name")
    addresses = await lookup(name, port)
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, f"{name} has no address")
    if not allow_private and any(is_blocked(address) for address in addresses):
        raise _refusal(host)
    return addresses


async def connect_socket(host: str, port: int, *, allow_private: bool) -> socket.socket:
    """A non-blocking TCP socket connected to a checked address of `host`, trying each
    in turn (bound the wait with `asyncio.timeout`). Hand it to asyncio
    (`create_connection(sock=…, server_hostname=host)`), so TLS checks the
    certificate against the name, not the address."""
    loop = asyncio.get_running_loop()
    addresses = await resolve_public(host, port, allow_private=allow_private)
    last_error: OSError | None = None
    for address in addresses:
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, (str(address), port))
        except OSError as exc:
            sock.close()
            last_error = exc
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    assert last_error is not None
    raise last_error


class _CheckedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network layer, connecting only to checked addresses. httpcore starts
    TLS on the stream returned here with the URL's host as server name, so the
    certificate is verified against the name while the socket goes to the address."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await resolve_public(host, port, allow_private=self.allow_private)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} took too long") from None
        except OSError as exc:  # httpx turns httpcore's errors into its own
            raise httpcore.ConnectError(f"{host}: {exc}") from None
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedTarget("Connections to local sockets are not allowed.")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class CheckedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over `_CheckedBackend`. No proxy: httpx ignores the
    environment's proxies when a client is given a transport, and a proxy would make
    the check meaningless (it would be the proxy that connects)."""

    def __init__(
        self,
        *,
        allow_private: bool,
        limits: httpx.Limits | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        # Not super().__init__(): it would build a pool on the default backend, only
        # for it to be replaced. The pool is all the parent's methods use.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_CheckedBackend(allow_private=allow_private),
        )
