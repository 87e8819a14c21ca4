"""The SSRF guard of webhook subscriptions: a URL is accepted only if every address its host
resolves to may be called (see domain.webhook_rules.address_refusal).

This is checked when a subscription is made. DNS can change afterwards, so whoever connects
should check the addresses it actually connects to as well.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from domain.errors import invalid
from domain.webhook_rules import IPAddress, address_refusal, default_port, parse_url

RESOLVE_TIMEOUT = 5.0


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` stands for: itself when it is an IP literal, else what DNS says.

    An unresolvable host is a 400 on `url`.
    """
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, TimeoutError):
        raise invalid("url", f"url: the host {host!r} does not resolve") from None
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
    if not addresses:
        raise invalid("url", f"url: the host {host!r} does not resolve")
    return addresses


async def check_webhook_url(url: str, *, allow_private: bool, allow_loopback: bool) -> str:
    """The URL, when it is http(s), has a host and no credentials, and none of the host's
    addresses is refused; a 400 on `url` otherwise."""
    parts = parse_url(url)
    host = parts.hostname or ""
    for address in await resolve(host, default_port(parts)):
        reason = address_refusal(address, allow_private=allow_private, allow_loopback=allow_loopback)
        if reason is not None:
            raise invalid("url", f"url: webhooks cannot be sent to {host}: {reason}")
    return url
