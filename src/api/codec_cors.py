"""CORS for the codec endpoint, the one route a browser calls from another origin (Temporal UI).

Litestar's CORS configuration applies to the whole application: it parsed the headers of every
request to look for an `Origin`, a twentieth of the cost of the API's fastest read
(docs/BENCHMARKS.md). Here the other routes pass through untouched and never answer a
cross-origin browser, as before for every origin not configured.
"""

from __future__ import annotations

from collections.abc import Iterable

from litestar.types import ASGIApp, Message, Receive, Scope, Send

CODEC_PATH = "/codec"
_ALLOW_METHODS = b"POST, OPTIONS"
_ALLOW_HEADERS = b"Authorization, Content-Type, X-Namespace"
_MAX_AGE = b"600"


class CodecCors:
    """ASGI middleware: preflights and responses of `/codec/...` for the configured origins."""

    def __init__(self, app: ASGIApp, origins: Iterable[str]) -> None:
        self.app = app
        self.origins = frozenset(o.encode() for o in origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(CODEC_PATH):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        origin = headers.get(b"origin")
        if origin is None or origin not in self.origins:
            # No CORS headers: the browser refuses the response to a page of that origin.
            await self.app(scope, receive, send)
            return
        allowed = [
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-credentials", b"true"),
            (b"vary", b"Origin"),
        ]
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [
                        *allowed,
                        (b"access-control-allow-methods", _ALLOW_METHODS),
                        (b"access-control-allow-headers", _ALLOW_HEADERS),
                        (b"access-control-max-age", _MAX_AGE),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_allowed(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *allowed]
            await send(message)

        await self.app(scope, receive, send_allowed)
