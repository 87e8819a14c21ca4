"""The SSRF guard of webhooks: where a URL may be sent, decided once per connection.

A URL is accepted only if it is http(s) on an allowed port (`ALLOWED_PORTS`) and every address
its host resolves to may be called (domain.webhook_rules.address_refusal). `resolve_target`
returns those checked addresses, and the delivery connects to one of them (outbound.delivery):
the name is never resolved a second time between the check and the connection, so a DNS answer
that changes in between (rebinding) cannot steer a delivery to an address nobody checked.

Refusals of a host name do not say what it resolved to, nor whether it resolved at all: an admin
must not learn the internal DNS of the service's network by subscribing to names.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import SplitResult

import msgspec

from domain.errors import invalid
from domain.webhook_rules import IPAddress, address_refusal, default_port, parse_url

RESOLVE_TIMEOUT = 5.0
# The web's ports, and every unprivileged one; the privileged ports of other services (SMTP,
# SSH, ...) are refused whatever the address.
WEB_PORTS = frozenset({80, 443})
FIRST_UNPRIVILEGED_PORT = 1024


class Target(msgspec.Struct, frozen=True):
    """A checked URL: its parts, and the addresses the delivery may connect to."""

    url: str
    parts: SplitResult
    host: str
    port: int
    addresses: tuple[IPAddress, ...]


def port_allowed(port: int) -> bool:
    return port in WEB_PORTS or port >= FIRST_UNPRIVILEGED_PORT


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` stands for: itself when it is an IP literal, else what DNS says
    (empty when it does not resolve)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, TimeoutError):
        return []
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        # IPv6 link-local addresses may carry a zone ("fe80::1%eth0"): judged without it.
        literal = str(sockaddr[0]).split("%", 1)[0]
        try:
            address = ipaddress.ip_address(literal)
        except ValueError:
            continue
        if address not in addresses:
            addresses.append(address)
    return addresses


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def resolve_target(url: str, *, allow_private: bool, allow_loopback: bool) -> Target:
    """The URL and the addresses it may be sent to; a 400 on `url` when it may not be sent at all."""
    parts = parse_url(url)
    host = parts.hostname or ""
    port = default_port(parts)
    if not port_allowed(port):
        raise invalid(
            "url", f"url: port {port} is not allowed; use 80, 443 or {FIRST_UNPRIVILEGED_PORT}-65535"
        )
    addresses = await resolve(host, port)
    for address in addresses:
        reason = address_refusal(address, allow_private=allow_private, allow_loopback=allow_loopback)
        if reason is not None:
            if is_ip_literal(host):
                raise invalid("url", f"url: webhooks cannot be sent to {reason}")
            addresses = []
            break
    if not addresses:
        raise invalid("url", f"url: {host} does not resolve to an address webhooks may be sent to")
    return Target(url=url, parts=parts, host=host, port=port, addresses=tuple(addresses))


async def check_webhook_url(url: str, *, allow_private: bool, allow_loopback: bool) -> str:
    """The URL, when it may be sent to (see `resolve_target`); a 400 on `url` otherwise."""
    await resolve_target(url, allow_private=allow_private, allow_loopback=allow_loopback)
    return url
