"""CORS for the codec endpoint, the one route a browser calls from another origin (Temporal UI).

Litestar's CORS configuration applies to the whole application: it parsed the headers of every
request to look for an `Origin`, a twentieth of the cost of the API's fastest read
(docs/BENCHMARKS.md). Here the other routes pass through untouched and never answer a
cross-origin browser, as before for every origin not configured.

Two parts: the middleware answers preflights; the `before_send` hook adds the headers to every
answer of `/codec/...`, refusals included (a 401 or 403 raised before the handler is sent by
Litestar's exception handling, outside any middleware), so that the UI can show why.
"""

from __future__ import annotations

from collections.abc import Iterable

from litestar.types import ASGIApp, Message, Receive, Scope, Send

CODEC_PATH = "/codec"
_ALLOW_METHODS = b"POST, OPTIONS"
_ALLOW_HEADERS = b"Authorization, Authorization-Extras, Content-Type, X-Namespace"
_MAX_AGE = b"600"


class CodecCors:
    def __init__(self, origins: Iterable[str]) -> None:
        self.origins = frozenset(o.encode() for o in origins)

    def _allowed(self, scope: Scope) -> list[tuple[bytes, bytes]] | None:
        """The CORS headers for this request, or None (no CORS headers: the browser refuses the
        answer to a page of another origin)."""
        if scope["type"] != "http" or not scope["path"].startswith(CODEC_PATH):
            return None
        origin = next((v for k, v in scope["headers"] if k == b"origin"), None)
        if origin is None or origin not in self.origins:
            return None
        return [
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-credentials", b"true"),
            (b"vary", b"Origin"),
        ]

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """Answers the preflights of the allowed origins."""

        async def preflight(scope: Scope, receive: Receive, send: Send) -> None:
            allowed = self._allowed(scope)
            if allowed is None or scope["method"] != "OPTIONS":
                await app(scope, receive, send)
                return
            if not any(k == b"access-control-request-method" for k, _ in scope["headers"]):
                await app(scope, receive, send)
                return
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

        return preflight

    async def before_send(self, message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start" or (allowed := self._allowed(scope)) is None:
            return
        headers = list(message.get("headers", []))
        # Once: a preflight answered by the middleware has them already, and a browser refuses
        # an allowed origin given twice.
        if not any(name.lower() == b"access-control-allow-origin" for name, _ in headers):
            message["headers"] = [*headers, *allowed]
