"""What a webhook subscription may contain: its URL, events, secret and extra headers.

Pure rules, no I/O: resolving the URL's host is the caller's (see outbound.webhook_urls), so that
the delivery activity can apply `address_refusal` again to the addresses it connects to.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

from domain.errors import invalid
from domain.webhooks import ALL_EVENTS, EventType

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
MIN_SECRET_LENGTH = 16
MAX_SECRET_LENGTH = 256
MAX_HEADERS = 20
MAX_HEADER_NAME_LENGTH = 100
MAX_HEADER_VALUE_LENGTH = 2000
MAX_EVENTS = 50

# Set by the delivery itself, or hop-by-hop headers that would change how the request is framed.
RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "host",
        "x-webhook-signature",
        "x-webhook-id",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "expect",
    }
)

# RFC 9110 token characters.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Cloud metadata services: refused even where private networks are allowed.
_METADATA = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("169.254.170.2"),
        ipaddress.ip_address("fd00:ec2::254"),
    }
)
# RFC 6052 well-known NAT64 prefix: the last 32 bits are an IPv4 address.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def parse_url(raw: str) -> SplitResult:
    """The URL's parts when it is an absolute http(s) URL with a host; a 400 on `url` otherwise."""
    if len(raw) > MAX_URL_LENGTH:
        raise invalid("url", f"url: longer than {MAX_URL_LENGTH} characters")
    if not raw or any(c.isspace() or ord(c) < 0x20 or c == "\x7f" for c in raw):
        raise invalid("url", "url: must be an http(s) URL without spaces or control characters")
    parts = urlsplit(raw)
    if parts.scheme.lower() not in ("http", "https"):
        raise invalid("url", f"url: {raw!r} is not an http or https URL")
    if "@" in parts.netloc:
        raise invalid("url", "url: must not contain a user name or password")
    if not parts.hostname:
        raise invalid("url", f"url: {raw!r} has no host")
    try:
        _ = parts.port
    except ValueError:
        raise invalid("url", f"url: {raw!r} has an invalid port") from None
    return parts


def default_port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme.lower() == "https" else 80)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address leads to: mapped, 6to4, Teredo and NAT64."""
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _kind(address: IPAddress) -> str | None:
    """What makes an address unfit for webhooks; None for a public address."""
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_multicast:
        return "multicast"
    if address.is_link_local:
        return "link-local"
    if address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    if not address.is_global:
        # Shared address space (100.64.0.0/10) and the like.
        return "private"
    return None


def address_refusal(address: IPAddress, *, allow_private: bool, allow_loopback: bool) -> str | None:
    """Why a webhook must not be sent to this address, or None when it may.

    `allow_loopback` admits loopback addresses; `allow_private` admits loopback, private and
    link-local ones. Unspecified, multicast and reserved addresses and the cloud metadata
    services are always refused. IPv6 addresses that embed an IPv4 address (mapped, 6to4,
    Teredo, NAT64) are judged by that address too.
    """
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv4-mapped address is that IPv4 address, nothing else.
        candidates = [] if address.ipv4_mapped is not None else [address]
        candidates.extend(_embedded_ipv4(address))
    for candidate in candidates:
        if candidate in _METADATA:
            return f"{address} is a cloud metadata address"
        kind = _kind(candidate)
        if kind is None:
            continue
        if kind == "loopback" and (allow_loopback or allow_private):
            continue
        if kind in ("private", "link-local") and allow_private:
            continue
        shown = str(address) if candidate == address else f"{address} (that is {candidate})"
        return f"{shown} is a {kind} address"
    return None


def check_events(events: list[str]) -> tuple[str, ...]:
    """EventType names or "*", at least one; duplicates removed, order kept."""
    if not events:
        raise invalid("events", 'events: name at least one event type, or "*" for all')
    if len(events) > MAX_EVENTS:
        raise invalid("events", f"events: at most {MAX_EVENTS} entries")
    known = {e.value for e in EventType}
    for index, name in enumerate(events):
        if name != ALL_EVENTS and name not in known:
            allowed = ", ".join([ALL_EVENTS, *sorted(known)])
            raise invalid(f"events[{index}]", f"events[{index}]: {name!r} is not one of {allowed}")
    return tuple(dict.fromkeys(events))


def check_secret(secret: str) -> str:
    if not MIN_SECRET_LENGTH <= len(secret) <= MAX_SECRET_LENGTH:
        raise invalid("secret", f"secret: must be {MIN_SECRET_LENGTH} to {MAX_SECRET_LENGTH} characters long")
    return secret


def check_headers(headers: dict[str, str]) -> dict[str, str]:
    """Extra headers sent with every delivery: valid names and values, none the delivery sets."""
    if len(headers) > MAX_HEADERS:
        raise invalid("headers", f"headers: at most {MAX_HEADERS} headers")
    seen: set[str] = set()
    for name, value in headers.items():
        field = f"headers.{name}"
        if not _TOKEN.fullmatch(name) or len(name) > MAX_HEADER_NAME_LENGTH:
            raise invalid(field, f"{field}: {name!r} is not a valid header name")
        lowered = name.lower()
        if lowered in RESERVED_HEADERS:
            raise invalid(field, f"{field}: {name} is set by the delivery and cannot be overridden")
        if lowered in seen:
            raise invalid(field, f"{field}: {name} is given twice")
        seen.add(lowered)
        if len(value) > MAX_HEADER_VALUE_LENGTH:
            raise invalid(field, f"{field}: longer than {MAX_HEADER_VALUE_LENGTH} characters")
        if any(c in "\r\n\x00" or (ord(c) < 0x20 and c != "\t") or c == "\x7f" for c in value):
            raise invalid(field, f"{field}: must not contain line breaks or control characters")
    return dict(headers)
