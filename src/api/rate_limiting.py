"""Rate limits at the API: who a request counts against, and the 429 it gets past a limit.

The limits are `domain.rate_limits`; counting is `storage.rate_limits`, in PostgreSQL, so every
replica sees the same counts. Subjects are counted under keyed pseudonyms (domain.keys): the
table holds no address of a client or a mailbox.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from api.errors import TooManyRequests
from config.settings import SettingsError
from domain.keys import ServiceKeys
from domain.rate_limits import ALL_LIMITS, Limit
from storage.rate_limits import Exceeded, RateLimiter


def client_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The client's address (behind a trusted proxy, the one it forwarded: FORWARDED_ALLOW_IPS).

    An IPv6 client is counted by its /64, the block one subscriber gets.
    """
    client = connection.scope.get("client")
    host = client[0] if client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def checked_overrides(requests: Mapping[str, int]) -> dict[str, int]:
    """The operator's overrides (RATE_LIMITS), each naming a limit of domain.rate_limits."""
    unknown = sorted(set(requests) - {limit.name for limit in ALL_LIMITS})
    if unknown:
        names = ", ".join(limit.name for limit in ALL_LIMITS)
        raise SettingsError(f"RATE_LIMITS: unknown limit {', '.join(unknown)} (known: {names})")
    return dict(requests)


class RateLimits:
    def __init__(self, limiter: RateLimiter, keys: ServiceKeys, requests: Mapping[str, int]) -> None:
        """`requests`: the operator's overrides of requests per window, by limit name."""
        self._limiter = limiter
        self._keys = keys
        self._requests = dict(requests)

    def effective(self, limit: Limit) -> Limit:
        requests = self._requests.get(limit.name)
        return limit if requests is None else msgspec.structs.replace(limit, requests=requests)

    async def check(self, *hits: tuple[Limit, str]) -> None:
        """Count this request against each (limit, subject); 429 past any of them."""
        counted = [
            (self.effective(limit), self._keys.pseudonym(f"{limit.subject.value}:{subject}"))
            for limit, subject in hits
        ]
        try:
            await self._limiter.hit(counted)
        except Exceeded as exc:
            wait = max(1, math.ceil(exc.retry_after.total_seconds()))
            raise TooManyRequests(
                f"too many requests ({exc.limit.name}: at most {exc.limit.describe()}); retry in {wait} s",
                retry_after=exc.retry_after,
            ) from None


class PerClient:
    """A route guard counting every request against `limit` by the client's address (a 429
    past it, which the OpenAPI document lists for every route guarded so)."""

    def __init__(self, limit: Limit) -> None:
        self.limit = limit

    async def __call__(self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        limits: RateLimits = connection.app.state.rate_limits
        await limits.check((self.limit, client_of(connection)))
